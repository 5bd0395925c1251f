//! `redsim-sentinel sentinel.conf`: Sentinel mode is not built yet.

fn main() {
    eprintln!("redsim-sentinel: Sentinel mode is not implemented yet (see the Sentinel issue).");
    std::process::exit(1);
}
