//! The clients' commands: for each, its usage line, how its words become a
//! REST call, and how the reply is shown. The tables are the clients'
//! whole vocabulary; `help` prints them.

use serde_json::{json, Value};

/// A REST call to make.
#[derive(Debug, PartialEq)]
pub struct Call {
    /// HTTP method.
    pub method: &'static str,
    /// Path and query, already percent-encoded.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Value>,
}

/// How a successful reply is printed in plain mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Render {
    /// `ok key=value ...` for these fields of the reply.
    Fields(&'static [&'static str]),
    /// `ok up=N down=M`.
    Rating,
    /// `ok <item>` from the reply's `item`.
    Item,
    /// `ok N items` and one indented row per item of `items`.
    Items,
    /// `ok N lines` and one indented row per line of `cart` (or plain `ok`).
    Cart,
    /// `ok purchase_id=... total=... lines=N` from `purchase`.
    Purchase,
    /// `ok N purchases` and one indented row per purchased line.
    History,
}

impl Render {
    /// True for the lists that come a page at a time (`ok N items more`
    /// when more follow; `more` shows them).
    pub fn is_paged(self) -> bool {
        matches!(self, Render::Items | Render::History)
    }
}

/// One command of a client.
pub struct CommandSpec {
    /// The first word.
    pub name: &'static str,
    /// The arguments, as `help` shows them.
    pub arguments: &'static str,
    /// Fewest words after the name.
    pub arguments_min: usize,
    /// Most words after the name (`usize::MAX`: any).
    pub arguments_max: usize,
    /// Builds the call from the words after the name.
    pub build: fn(&[String]) -> Result<Call, String>,
    /// Shows the reply.
    pub render: Render,
}

impl CommandSpec {
    /// `name arguments`, for usage messages.
    pub fn usage(&self) -> String {
        format!("{} {}", self.name, self.arguments)
            .trim_end()
            .to_string()
    }
}

fn call(method: &'static str, path: String, body: Option<Value>) -> Result<Call, String> {
    Ok(Call { method, path, body })
}

fn number(what: &str, word: &str) -> Result<u64, String> {
    word.parse()
        .map_err(|_| format!("{what} must be a whole number, got {word:?}"))
}

/// Percent-encodes one path segment or query value.
pub fn encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The seller client's commands.
pub fn seller_commands() -> Vec<CommandSpec> {
    let mut commands = seller_account_commands();
    commands.extend(seller_item_commands());
    commands
}

/// Accounts and sessions: create-account, login, logout, rating.
fn seller_account_commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec {
            name: "create-account",
            arguments: "<user> <password>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| {
                call(
                    "POST",
                    "/seller/accounts".into(),
                    Some(json!({"name": w[0], "password": w[1]})),
                )
            },
            render: Render::Fields(&["seller_id"]),
        },
        CommandSpec {
            name: "login",
            arguments: "<user> <password>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| {
                call(
                    "POST",
                    "/seller/login".into(),
                    Some(json!({"name": w[0], "password": w[1]})),
                )
            },
            render: Render::Fields(&["seller_id", "session"]),
        },
        CommandSpec {
            name: "logout",
            arguments: "",
            arguments_min: 0,
            arguments_max: 0,
            build: |_| call("POST", "/seller/logout".into(), None),
            render: Render::Fields(&[]),
        },
        CommandSpec {
            name: "rating",
            arguments: "",
            arguments_min: 0,
            arguments_max: 0,
            build: |_| call("GET", "/seller/rating".into(), None),
            render: Render::Rating,
        },
    ]
}

/// One's own items: put, change-price, remove, list.
fn seller_item_commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec {
            name: "put",
            arguments: "<name> <category> <new|used> <price> <quantity> [keyword...]",
            arguments_min: 5,
            arguments_max: usize::MAX,
            build: |w| {
                let body = json!({
                    "name": w[0],
                    "category": number("category", &w[1])?,
                    "condition": w[2],
                    "price": w[3],
                    "quantity": number("quantity", &w[4])?,
                    "keywords": &w[5..],
                });
                call("POST", "/seller/items".into(), Some(body))
            },
            render: Render::Fields(&["item_id"]),
        },
        CommandSpec {
            name: "change-price",
            arguments: "<item-id> <price>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| {
                call(
                    "PUT",
                    format!("/seller/items/{}/price", encode(&w[0])),
                    Some(json!({"price": w[1]})),
                )
            },
            render: Render::Fields(&[]),
        },
        CommandSpec {
            name: "remove",
            arguments: "<item-id> <quantity>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| {
                let body = json!({"quantity": number("quantity", &w[1])?});
                call(
                    "POST",
                    format!("/seller/items/{}/remove", encode(&w[0])),
                    Some(body),
                )
            },
            render: Render::Item,
        },
        CommandSpec {
            name: "list",
            arguments: "",
            arguments_min: 0,
            arguments_max: 0,
            build: |_| call("GET", "/seller/items".into(), None),
            render: Render::Items,
        },
    ]
}

/// The buyer client's commands.
pub fn buyer_commands() -> Vec<CommandSpec> {
    let mut commands = vec![
        CommandSpec {
            name: "create-account",
            arguments: "<user> <password>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| {
                call(
                    "POST",
                    "/buyer/accounts".into(),
                    Some(json!({"name": w[0], "password": w[1]})),
                )
            },
            render: Render::Fields(&["buyer_id"]),
        },
        CommandSpec {
            name: "login",
            arguments: "<user> <password>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| {
                call(
                    "POST",
                    "/buyer/login".into(),
                    Some(json!({"name": w[0], "password": w[1]})),
                )
            },
            render: Render::Fields(&["buyer_id", "session"]),
        },
        CommandSpec {
            name: "logout",
            arguments: "",
            arguments_min: 0,
            arguments_max: 0,
            build: |_| call("POST", "/buyer/logout".into(), None),
            render: Render::Fields(&[]),
        },
        CommandSpec {
            name: "search",
            arguments: "<category> [keyword...]",
            arguments_min: 1,
            arguments_max: usize::MAX,
            build: |w| {
                let keywords: Vec<String> = w[1..].iter().map(|k| encode(k)).collect();
                let path = format!(
                    "/buyer/items?category={}&keywords={}",
                    encode(&w[0]),
                    keywords.join(",")
                );
                call("GET", path, None)
            },
            render: Render::Items,
        },
        CommandSpec {
            name: "item",
            arguments: "<item-id>",
            arguments_min: 1,
            arguments_max: 1,
            build: |w| call("GET", format!("/buyer/items/{}", encode(&w[0])), None),
            render: Render::Item,
        },
    ];
    commands.extend(buyer_cart_commands());
    commands.extend(buyer_purchase_commands());
    commands
}

fn cart_change(path: &str, words: &[String]) -> Result<Call, String> {
    let body = json!({"item_id": words[0], "quantity": number("quantity", &words[1])?});
    call("POST", path.to_string(), Some(body))
}

fn buyer_cart_commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec {
            name: "add",
            arguments: "<item-id> <quantity>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| cart_change("/buyer/cart/add", w),
            render: Render::Cart,
        },
        CommandSpec {
            name: "remove",
            arguments: "<item-id> <quantity>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| cart_change("/buyer/cart/remove", w),
            render: Render::Cart,
        },
        CommandSpec {
            name: "save-cart",
            arguments: "",
            arguments_min: 0,
            arguments_max: 0,
            build: |_| call("POST", "/buyer/cart/save".into(), None),
            render: Render::Fields(&[]),
        },
        CommandSpec {
            name: "clear-cart",
            arguments: "",
            arguments_min: 0,
            arguments_max: 0,
            build: |_| call("POST", "/buyer/cart/clear".into(), None),
            render: Render::Fields(&[]),
        },
        CommandSpec {
            name: "cart",
            arguments: "",
            arguments_min: 0,
            arguments_max: 0,
            build: |_| call("GET", "/buyer/cart".into(), None),
            render: Render::Cart,
        },
    ]
}

fn buyer_purchase_commands() -> Vec<CommandSpec> {
    vec![
        CommandSpec {
            name: "buy",
            arguments: "<card-holder> <card-number> <MM/YY>",
            arguments_min: 3,
            arguments_max: 3,
            build: |w| {
                let body = json!({"card_holder": w[0], "card_number": w[1], "expiry": w[2]});
                call("POST", "/buyer/purchase".into(), Some(body))
            },
            render: Render::Purchase,
        },
        CommandSpec {
            name: "feedback",
            arguments: "<item-id> <up|down>",
            arguments_min: 2,
            arguments_max: 2,
            build: |w| {
                call(
                    "POST",
                    "/buyer/feedback".into(),
                    Some(json!({"item_id": w[0], "thumb": w[1]})),
                )
            },
            render: Render::Fields(&[]),
        },
        CommandSpec {
            name: "seller-rating",
            arguments: "<seller-id>",
            arguments_min: 1,
            arguments_max: 1,
            build: |w| {
                call(
                    "GET",
                    format!("/buyer/sellers/{}/rating", encode(&w[0])),
                    None,
                )
            },
            render: Render::Rating,
        },
        CommandSpec {
            name: "history",
            arguments: "",
            arguments_min: 0,
            arguments_max: 0,
            build: |_| call("GET", "/buyer/history".into(), None),
            render: Render::History,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(commands: &[CommandSpec], name: &str, words: &[&str]) -> Result<Call, String> {
        let spec = commands
            .iter()
            .find(|c| c.name == name)
            .expect("command exists");
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        (spec.build)(&words)
    }

    #[test]
    fn put_builds_the_item_body() {
        let call = build(
            &seller_commands(),
            "put",
            &["Blue lamp", "3", "new", "12.50", "2", "light", "blue"],
        )
        .unwrap();
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/seller/items");
        let body = call.body.unwrap();
        assert_eq!(body["name"], "Blue lamp");
        assert_eq!(body["category"], 3);
        assert_eq!(body["price"], "12.50");
        assert_eq!(body["keywords"], json!(["light", "blue"]));
        assert!(build(&seller_commands(), "put", &["x", "three", "new", "1", "1"]).is_err());
    }

    #[test]
    fn search_encodes_its_query() {
        let call = build(&buyer_commands(), "search", &["3", "a b", "c&d"]).unwrap();
        assert_eq!(call.path, "/buyer/items?category=3&keywords=a%20b,c%26d");
    }

    #[test]
    fn names_are_unique_within_each_client() {
        for commands in [seller_commands(), buyer_commands()] {
            let mut names: Vec<_> = commands.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), commands.len());
        }
    }
}
