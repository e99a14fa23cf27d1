//! `customer-db`: see marketplace::app.

fn main() {
    marketplace::app::exit_with(marketplace::app::run_customer_db(std::env::args().skip(1)))
}
