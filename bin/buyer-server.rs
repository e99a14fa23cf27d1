//! `buyer-server`: see marketplace::app.

fn main() {
    marketplace::app::exit_with(marketplace::app::run_buyer_server(std::env::args().skip(1)))
}
