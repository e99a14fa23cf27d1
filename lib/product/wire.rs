//! The product DB's requests and replies as the protobuf messages of
//! proto/marketplace.proto (`ProductRequest`, `ProductReply`): how they
//! travel over gRPC and how the Raft log holds them.

use protobuf::RepeatedField;

use crate::contract::vocabulary::*;
use crate::contract::{leader_of, Answer, WireCommand};
use crate::market::MarketError;
use crate::pb::marketplace::{
    self as pb, ProductReply_oneof_outcome as Out, ProductRequest_oneof_command as Wire,
};

use super::{ProductCommand, ProductOutcome, ProductRequest};

impl WireCommand for ProductRequest {
    type Wire = pb::ProductRequest;
    type Reply = pb::ProductReply;
    type Outcome = ProductOutcome;

    fn to_wire(&self) -> Result<pb::ProductRequest, MarketError> {
        Ok(pb::ProductRequest {
            request_id: self.request_id.0.clone(),
            command: Some(command_to_wire(&self.command)),
            ..Default::default()
        })
    }

    fn from_wire(wire: pb::ProductRequest) -> Result<ProductRequest, MarketError> {
        let Some(command) = wire.command else {
            return Err(MarketError::invalid(
                "the request names no product-DB command this replica knows",
            ));
        };
        Ok(ProductRequest {
            request_id: request_id(wire.request_id)?,
            command: command_from_wire(command)?,
        })
    }

    fn outcome_to_wire(outcome: &ProductOutcome) -> pb::ProductReply {
        let outcome = match outcome {
            ProductOutcome::ItemPut { item } => Out::item_put(pb::ProductReply_ItemPut {
                item: some(item_id_to_wire(item)),
                ..Default::default()
            }),
            ProductOutcome::Done => Out::done(pb::Done::new()),
            ProductOutcome::Item(item) => Out::item(item_to_wire(item)),
            ProductOutcome::Items { items, next } => Out::items(pb::ProductReply_Items {
                items: repeated(items, item_to_wire),
                next: next.map(String::from).unwrap_or_default(),
                ..Default::default()
            }),
            ProductOutcome::Purchased(lines) => Out::purchased(pb::ProductReply_Purchased {
                lines: repeated(lines, purchased_line_to_wire),
                ..Default::default()
            }),
        };
        pb::ProductReply {
            outcome: Some(outcome),
            ..Default::default()
        }
    }

    fn not_leader(hint: i32) -> pb::ProductReply {
        let mut not_leader = pb::NotLeader::new();
        not_leader.set_leader_hint(hint);
        pb::ProductReply {
            outcome: Some(Out::not_leader(not_leader)),
            ..Default::default()
        }
    }

    fn reply_from_wire(reply: pb::ProductReply) -> Result<Answer<ProductOutcome>, MarketError> {
        let outcome = match reply.outcome {
            None => return Err(MarketError::invalid("the reply carries no known outcome")),
            Some(Out::not_leader(not_leader)) => {
                return Ok(Answer::NotLeader(leader_of(not_leader.leader_hint)))
            }
            Some(Out::item_put(put)) => ProductOutcome::ItemPut {
                item: required_item(put.item)?,
            },
            Some(Out::done(_)) => ProductOutcome::Done,
            Some(Out::item(wire)) => ProductOutcome::Item(item(wire)?),
            Some(Out::items(items)) => ProductOutcome::Items {
                next: Some(items.next)
                    .filter(|next| !next.is_empty())
                    .map(|next| next.parse())
                    .transpose()?,
                items: each(items.items, item)?,
            },
            Some(Out::purchased(purchased)) => {
                ProductOutcome::Purchased(each(purchased.lines, purchased_line)?)
            }
        };
        Ok(Answer::Outcome(outcome))
    }
}

fn command_to_wire(command: &ProductCommand) -> Wire {
    match command {
        ProductCommand::PutItem { seller, draft } => Wire::put_item(pb::ProductRequest_PutItem {
            seller: *seller,
            draft: some(draft_to_wire(draft)),
            ..Default::default()
        }),
        ProductCommand::ChangePrice {
            seller,
            item,
            price,
        } => Wire::change_price(pb::ProductRequest_ChangePrice {
            seller: *seller,
            item: some(item_id_to_wire(item)),
            price_cents: price.cents(),
            ..Default::default()
        }),
        ProductCommand::RemoveUnits {
            seller,
            item,
            quantity,
        } => Wire::remove_units(pb::ProductRequest_RemoveUnits {
            seller: *seller,
            item: some(item_id_to_wire(item)),
            quantity: *quantity,
            ..Default::default()
        }),
        ProductCommand::ListSellerItems { seller, page } => {
            Wire::list_seller_items(pb::ProductRequest_ListSellerItems {
                seller: *seller,
                page: page_to_wire(page),
                ..Default::default()
            })
        }
        ProductCommand::Search {
            category,
            keywords,
            page,
        } => Wire::search(pb::ProductRequest_Search {
            category: u32::from(category.get()),
            keywords: RepeatedField::from_vec(keywords.clone()),
            page: page_to_wire(page),
            ..Default::default()
        }),
        ProductCommand::GetItem { item } => Wire::get_item(pb::ProductRequest_GetItem {
            item: some(item_id_to_wire(item)),
            ..Default::default()
        }),
        ProductCommand::Purchase { lines } => Wire::purchase(pb::ProductRequest_Purchase {
            lines: repeated(lines, cart_line_to_wire),
            ..Default::default()
        }),
        ProductCommand::Feedback { item, thumb } => Wire::feedback(pb::ProductRequest_Feedback {
            item: some(item_id_to_wire(item)),
            thumb: thumb_to_wire(*thumb),
            ..Default::default()
        }),
    }
}

fn command_from_wire(command: Wire) -> Result<ProductCommand, MarketError> {
    Ok(match command {
        Wire::put_item(put) => ProductCommand::PutItem {
            seller: put.seller,
            draft: draft(required(put.draft, "draft")?)?,
        },
        Wire::change_price(change) => ProductCommand::ChangePrice {
            seller: change.seller,
            item: required_item(change.item)?,
            price: price(change.price_cents)?,
        },
        Wire::remove_units(remove) => ProductCommand::RemoveUnits {
            seller: remove.seller,
            item: required_item(remove.item)?,
            quantity: remove.quantity,
        },
        Wire::list_seller_items(list) => ProductCommand::ListSellerItems {
            seller: list.seller,
            page: page(list.page)?,
        },
        Wire::search(search) => ProductCommand::Search {
            category: category(search.category)?,
            keywords: search.keywords.into_vec(),
            page: page(search.page)?,
        },
        Wire::get_item(get) => ProductCommand::GetItem {
            item: required_item(get.item)?,
        },
        Wire::purchase(purchase) => ProductCommand::Purchase {
            lines: each(purchase.lines, cart_line)?,
        },
        Wire::feedback(feedback) => ProductCommand::Feedback {
            item: required_item(feedback.item)?,
            thumb: thumb(feedback.thumb)?,
        },
    })
}
