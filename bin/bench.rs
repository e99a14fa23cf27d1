//! `bench`: see marketplace::bench (not written yet).

fn main() {
    eprintln!("bench is not built yet");
    std::process::exit(2);
}
