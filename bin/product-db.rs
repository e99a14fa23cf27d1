//! `product-db`: see marketplace::app.

fn main() {
    marketplace::app::exit_with(marketplace::app::run_product_db(std::env::args().skip(1)))
}
