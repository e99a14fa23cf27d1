//! `financial-service`: see marketplace::app.

fn main() {
    marketplace::app::exit_with(marketplace::app::run_financial_service(
        std::env::args().skip(1),
    ))
}
