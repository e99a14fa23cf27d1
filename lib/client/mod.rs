//! The line-oriented stdin clients (`seller-client`, `buyer-client`): read a
//! command per line, call a frontend over REST, print one result per
//! command (`ok ...` or `error: <reason>`, or one JSON object with `--json`).
//!
//! Parts: `line.rs` splits a line into words; `commands.rs` turns words
//! into a REST call and says how to show its reply; `http.rs` calls the
//! frontends with failover; `output.rs` prints; `repl.rs` is the loop.

mod commands;
mod http;
mod line;
mod output;
mod repl;

pub use commands::{buyer_commands, encode, seller_commands, CommandSpec};
pub use http::{CallError, FrontendClient};
pub use line::split_line;
pub use repl::{run_client, ClientKind};
