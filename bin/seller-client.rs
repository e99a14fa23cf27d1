//! `seller-client [--json]`: commands on stdin; see marketplace::client.

use marketplace::client::{run_client, ClientKind};

fn main() {
    let filter = env_logger::Env::default().default_filter_or("warn");
    env_logger::Builder::from_env(filter).init();
    if let Err(message) = run_client(ClientKind::Seller, std::env::args().skip(1)) {
        eprintln!("error: {message}");
        std::process::exit(2);
    }
}
