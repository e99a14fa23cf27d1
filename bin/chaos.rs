//! `chaos`: the fault suite with its linearizability check; see
//! marketplace::chaos.

fn main() {
    let filter = env_logger::Env::default().default_filter_or("error");
    env_logger::Builder::from_env(filter).init();
    std::process::exit(marketplace::chaos::main_with_args(std::env::args().skip(1)));
}
