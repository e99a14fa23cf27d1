//! `cluster-status [--json]`: see marketplace::status.

fn main() {
    match marketplace::status::run_cluster_status(std::env::args().skip(1)) {
        Ok(true) => std::process::exit(0),
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2)
        }
    }
}
