//! Printing results: one line per command (`ok ...` or `error: ...`), with
//! indented rows under it for lists; or, in JSON mode, one JSON object per
//! command: the reply's fields plus `"ok": true`, or `"ok": false` with
//! `"error"` and `"kind"`.

use serde_json::{Map, Value};

use super::commands::Render;

/// The plain-text lines of a successful reply.
pub fn render_plain(render: Render, reply: &Value) -> Vec<String> {
    match render {
        Render::Fields(fields) => {
            let mut line = String::from("ok");
            for field in fields {
                line.push_str(&format!(" {field}={}", scalar(&reply[*field])));
            }
            vec![line]
        }
        Render::Rating => vec![format!(
            "ok up={} down={}",
            scalar(&reply["up"]),
            scalar(&reply["down"])
        )],
        Render::Item => vec![format!("ok {}", item_row(&reply["item"]))],
        Render::Items => {
            let mut lines = rows("items", reply["items"].as_array(), item_row);
            // More items follow this page: `more` shows them. A list that
            // fits on one page prints as it did before paging.
            if reply["next"].is_string() {
                lines[0].push_str(" more");
            }
            lines
        }
        Render::Cart => match reply.get("cart") {
            Some(cart) => rows("lines", cart.as_array(), cart_row),
            None => vec!["ok".to_string()],
        },
        Render::Purchase => {
            let purchase = &reply["purchase"];
            let lines = purchase["lines"].as_array().map_or(0, Vec::len);
            vec![format!(
                "ok purchase_id={} total={} lines={lines}",
                scalar(&purchase["purchase_id"]),
                scalar(&purchase["total"])
            )]
        }
        Render::History => {
            let mut lines = history_rows(reply["purchases"].as_array());
            if reply["next"].is_string() {
                lines[0].push_str(" more");
            }
            lines
        }
    }
}

/// The JSON line of a successful reply.
pub fn render_json(reply: &Value) -> String {
    let mut object = match reply {
        Value::Object(fields) => fields.clone(),
        other => {
            let mut fields = Map::new();
            fields.insert("result".into(), other.clone());
            fields
        }
    };
    object.insert("ok".into(), Value::Bool(true));
    Value::Object(object).to_string()
}

/// The line of a failed command.
pub fn render_error(json: bool, kind: &str, message: &str) -> String {
    if json {
        serde_json::json!({ "ok": false, "kind": kind, "error": message }).to_string()
    } else {
        format!("error: {message}")
    }
}

fn rows(noun: &str, list: Option<&Vec<Value>>, row: fn(&Value) -> String) -> Vec<String> {
    let list = list.map(Vec::as_slice).unwrap_or(&[]);
    let mut lines = vec![format!("ok {} {noun}", list.len())];
    lines.extend(list.iter().map(|value| format!("  {}", row(value))));
    lines
}

fn item_row(item: &Value) -> String {
    let keywords: Vec<String> = item["keywords"]
        .as_array()
        .map(|k| k.iter().map(scalar).collect())
        .unwrap_or_default();
    format!(
        "{} name={} category={} condition={} price={} quantity={} \
         seller_id={} keywords={} up={} down={}",
        scalar(&item["id"]),
        quoted(&item["name"]),
        scalar(&item["category"]),
        scalar(&item["condition"]),
        scalar(&item["price"]),
        scalar(&item["quantity"]),
        scalar(&item["seller_id"]),
        keywords.join(","),
        scalar(&item["feedback"]["up"]),
        scalar(&item["feedback"]["down"]),
    )
}

fn cart_row(line: &Value) -> String {
    format!(
        "{} quantity={}",
        scalar(&line["item_id"]),
        scalar(&line["quantity"])
    )
}

fn history_rows(purchases: Option<&Vec<Value>>) -> Vec<String> {
    let purchases = purchases.map(Vec::as_slice).unwrap_or(&[]);
    let mut lines = vec![format!("ok {} purchases", purchases.len())];
    for purchase in purchases {
        for line in purchase["lines"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            lines.push(format!(
                "  {} {} name={} quantity={} price={} seller_id={}",
                scalar(&purchase["purchase_id"]),
                scalar(&line["item_id"]),
                quoted(&line["name"]),
                scalar(&line["quantity"]),
                scalar(&line["price"]),
                scalar(&line["seller_id"]),
            ));
        }
    }
    lines
}

/// A value as a bare word: strings without quotes, others as JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A string in double quotes, as the clients read them back.
fn quoted(value: &Value) -> String {
    let text = scalar(value).replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{text}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_print_a_count_then_indented_rows() {
        let reply = json!({"items": [{"id": "3-1", "name": "Blue lamp", "category": 3, "keywords": ["a"],
            "condition": "new", "price": "12.50", "quantity": 2, "seller_id": 1, "feedback": {"up": 0, "down": 1}}]});
        let lines = render_plain(Render::Items, &reply);
        assert_eq!(lines[0], "ok 1 items");
        assert_eq!(lines[1], "  3-1 name=\"Blue lamp\" category=3 condition=new price=12.50 quantity=2 seller_id=1 keywords=a up=0 down=1");
    }

    #[test]
    fn a_list_with_more_pages_says_so_at_the_end_of_its_count() {
        let item = json!({"id": "3-1", "name": "x", "category": 3, "keywords": [],
            "condition": "new", "price": "1.00", "quantity": 1, "seller_id": 1, "feedback": {"up": 0, "down": 0}});
        let last = json!({"items": [item]});
        assert_eq!(render_plain(Render::Items, &last)[0], "ok 1 items");
        let paged = json!({"items": [item], "next": "0:3-1"});
        let lines = render_plain(Render::Items, &paged);
        assert_eq!(lines[0], "ok 1 items more");
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn json_mode_adds_ok_and_errors_carry_their_kind() {
        let line: Value = serde_json::from_str(&render_json(&json!({"seller_id": 4}))).unwrap();
        assert_eq!(line, json!({"ok": true, "seller_id": 4}));
        let error: Value =
            serde_json::from_str(&render_error(true, "not_found", "item 3-9 not found")).unwrap();
        assert_eq!(
            error,
            json!({"ok": false, "kind": "not_found", "error": "item 3-9 not found"})
        );
        assert_eq!(render_error(false, "x", "boom"), "error: boom");
    }
}
