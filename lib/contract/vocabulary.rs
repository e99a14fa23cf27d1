//! The marketplace's vocabulary (`crate::market`) in protobuf messages and
//! back: the pieces both databases' commands and replies are made of.
//! Decoding checks what the domain types insist on (a category in range, a
//! price above zero, a known enum value) and says which field broke the
//! rule; the state machines check the rest (lengths, limits) as before.

use protobuf::{RepeatedField, SingularPtrField};

use crate::market::{
    CartLine, Category, Condition, HistoryPage, Item, ItemDraft, ItemId, MarketError, Page, Price,
    PurchasedLine, Rating, RequestId, Role, SessionToken, Thumb,
};
use crate::pb::marketplace as pb;

/// A message field that must be present, or an error naming it.
pub fn required<T>(field: SingularPtrField<T>, name: &str) -> Result<T, MarketError> {
    field
        .into_option()
        .ok_or_else(|| MarketError::invalid(format!("{name} is missing")))
}

/// A present message field.
pub fn some<T>(value: T) -> SingularPtrField<T> {
    SingularPtrField::some(value)
}

/// A repeated field of `values`, each converted by `convert`.
pub fn repeated<T, U>(values: &[T], convert: impl Fn(&T) -> U) -> RepeatedField<U> {
    RepeatedField::from_vec(values.iter().map(convert).collect())
}

/// Every element of a repeated field, converted by `convert`.
pub fn each<T, U>(
    values: RepeatedField<T>,
    convert: impl Fn(T) -> Result<U, MarketError>,
) -> Result<Vec<U>, MarketError> {
    values.into_iter().map(convert).collect()
}

/// A request id as a database takes it.
pub fn request_id(text: String) -> Result<RequestId, MarketError> {
    RequestId::parse_for_database(&text)
}

/// A session token: any text (an unknown one is refused by the state).
pub fn session(text: String) -> SessionToken {
    SessionToken(text)
}

/// A category number.
pub fn category(number: u32) -> Result<Category, MarketError> {
    Category::new(i64::from(number))
}

/// A price in cents.
pub fn price(cents: u64) -> Result<Price, MarketError> {
    Price::from_cents(cents)
}

/// An item id in the wire's form.
pub fn item_id_to_wire(id: &ItemId) -> pb::ItemId {
    pb::ItemId {
        category: u32::from(id.category.get()),
        number: id.number,
        ..Default::default()
    }
}

/// An item id from the wire.
pub fn item_id(wire: pb::ItemId) -> Result<ItemId, MarketError> {
    Ok(ItemId {
        category: category(wire.category)?,
        number: wire.number,
    })
}

/// A required item id field.
pub fn required_item(field: SingularPtrField<pb::ItemId>) -> Result<ItemId, MarketError> {
    item_id(required(field, "item")?)
}

/// A condition in the wire's form.
pub fn condition_to_wire(condition: Condition) -> pb::Condition {
    match condition {
        Condition::New => pb::Condition::NEW,
        Condition::Used => pb::Condition::USED,
    }
}

/// A condition from the wire.
pub fn condition(wire: pb::Condition) -> Result<Condition, MarketError> {
    match wire {
        pb::Condition::NEW => Ok(Condition::New),
        pb::Condition::USED => Ok(Condition::Used),
        pb::Condition::CONDITION_UNSPECIFIED => {
            Err(MarketError::invalid("condition must be NEW or USED"))
        }
    }
}

/// A thumb in the wire's form.
pub fn thumb_to_wire(thumb: Thumb) -> pb::Thumb {
    match thumb {
        Thumb::Up => pb::Thumb::UP,
        Thumb::Down => pb::Thumb::DOWN,
    }
}

/// A thumb from the wire.
pub fn thumb(wire: pb::Thumb) -> Result<Thumb, MarketError> {
    match wire {
        pb::Thumb::UP => Ok(Thumb::Up),
        pb::Thumb::DOWN => Ok(Thumb::Down),
        pb::Thumb::THUMB_UNSPECIFIED => Err(MarketError::invalid("thumb must be UP or DOWN")),
    }
}

/// A role in the wire's form.
pub fn role_to_wire(role: Role) -> pb::Role {
    match role {
        Role::Seller => pb::Role::SELLER,
        Role::Buyer => pb::Role::BUYER,
    }
}

/// A role from the wire.
pub fn role(wire: pb::Role) -> Result<Role, MarketError> {
    match wire {
        pb::Role::SELLER => Ok(Role::Seller),
        pb::Role::BUYER => Ok(Role::Buyer),
        pb::Role::ROLE_UNSPECIFIED => Err(MarketError::invalid("role must be SELLER or BUYER")),
    }
}

/// A draft in the wire's form.
pub fn draft_to_wire(draft: &ItemDraft) -> pb::ItemDraft {
    pb::ItemDraft {
        name: draft.name.clone(),
        category: u32::from(draft.category.get()),
        keywords: RepeatedField::from_vec(draft.keywords.clone()),
        condition: condition_to_wire(draft.condition),
        price_cents: draft.price.cents(),
        quantity: draft.quantity,
        ..Default::default()
    }
}

/// A draft from the wire.
pub fn draft(wire: pb::ItemDraft) -> Result<ItemDraft, MarketError> {
    Ok(ItemDraft {
        name: wire.name,
        category: category(wire.category)?,
        keywords: wire.keywords.into_vec(),
        condition: condition(wire.condition)?,
        price: price(wire.price_cents)?,
        quantity: wire.quantity,
    })
}

/// A rating in the wire's form.
pub fn rating_to_wire(rating: &Rating) -> pb::Rating {
    pb::Rating {
        up: rating.up,
        down: rating.down,
        ..Default::default()
    }
}

/// A rating from the wire (an absent one counts nothing).
pub fn rating(wire: SingularPtrField<pb::Rating>) -> Rating {
    let wire = wire.unwrap_or_default();
    Rating {
        up: wire.up,
        down: wire.down,
    }
}

/// An item in the wire's form.
pub fn item_to_wire(item: &Item) -> pb::Item {
    pb::Item {
        id: some(item_id_to_wire(&item.id)),
        name: item.name.clone(),
        keywords: RepeatedField::from_vec(item.keywords.clone()),
        condition: condition_to_wire(item.condition),
        price_cents: item.price.cents(),
        quantity: item.quantity,
        seller: item.seller,
        rating: some(rating_to_wire(&item.rating)),
        ..Default::default()
    }
}

/// An item from the wire.
pub fn item(wire: pb::Item) -> Result<Item, MarketError> {
    Ok(Item {
        id: item_id(required(wire.id, "id")?)?,
        name: wire.name,
        keywords: wire.keywords.into_vec(),
        condition: condition(wire.condition)?,
        price: price(wire.price_cents)?,
        quantity: wire.quantity,
        seller: wire.seller,
        rating: rating(wire.rating),
    })
}

/// A cart line in the wire's form.
pub fn cart_line_to_wire(line: &CartLine) -> pb::CartLine {
    pb::CartLine {
        item: some(item_id_to_wire(&line.item)),
        quantity: line.quantity,
        ..Default::default()
    }
}

/// A cart line from the wire.
pub fn cart_line(wire: pb::CartLine) -> Result<CartLine, MarketError> {
    Ok(CartLine {
        item: required_item(wire.item)?,
        quantity: wire.quantity,
    })
}

/// A purchased line in the wire's form.
pub fn purchased_line_to_wire(line: &PurchasedLine) -> pb::PurchasedLine {
    pb::PurchasedLine {
        item: some(item_id_to_wire(&line.item)),
        name: line.name.clone(),
        quantity: line.quantity,
        price_cents: line.price.cents(),
        seller: line.seller,
        ..Default::default()
    }
}

/// A purchased line from the wire.
pub fn purchased_line(wire: pb::PurchasedLine) -> Result<PurchasedLine, MarketError> {
    Ok(PurchasedLine {
        item: required_item(wire.item)?,
        name: wire.name,
        quantity: wire.quantity,
        price: price(wire.price_cents)?,
        seller: wire.seller,
    })
}

/// A page in the wire's form.
pub fn page_to_wire(page: &Page) -> SingularPtrField<pb::Page> {
    some(pb::Page {
        limit: u32::try_from(page.limit).unwrap_or(u32::MAX),
        after: page.after.map(String::from).unwrap_or_default(),
        ..Default::default()
    })
}

/// A page from the wire; absent, the first page of the default size.
pub fn page(wire: SingularPtrField<pb::Page>) -> Result<Page, MarketError> {
    let Some(wire) = wire.into_option() else {
        return Ok(Page::default());
    };
    let after = Some(wire.after).filter(|after| !after.is_empty());
    let page = Page {
        limit: wire.limit as usize,
        after: after.map(|after| after.parse()).transpose()?,
    };
    page.validate()?;
    Ok(page)
}

/// A history page in the wire's form.
pub fn history_page_to_wire(page: &HistoryPage) -> SingularPtrField<pb::HistoryPage> {
    some(pb::HistoryPage {
        limit: u32::try_from(page.limit).unwrap_or(u32::MAX),
        after: page.after as u64,
        ..Default::default()
    })
}

/// A history page from the wire; absent, the first page.
pub fn history_page(wire: SingularPtrField<pb::HistoryPage>) -> Result<HistoryPage, MarketError> {
    let Some(wire) = wire.into_option() else {
        return Ok(HistoryPage::default());
    };
    let page = HistoryPage {
        limit: wire.limit as usize,
        after: usize::try_from(wire.after)
            .map_err(|_| MarketError::invalid("history page's after is out of range"))?,
    };
    page.validate()?;
    Ok(page)
}
