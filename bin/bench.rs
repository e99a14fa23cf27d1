//! `bench`: the evaluation over REST; see marketplace::bench.

fn main() {
    let filter = env_logger::Env::default().default_filter_or("error");
    env_logger::Builder::from_env(filter).init();
    if let Err(error) = marketplace::bench::main_with_args(std::env::args().skip(1).collect()) {
        eprintln!("error: {error}");
        let usage = matches!(error, marketplace::bench::BenchError::Usage(_));
        std::process::exit(if usage { 2 } else { 1 });
    }
}
