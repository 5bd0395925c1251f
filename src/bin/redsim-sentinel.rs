//! `redsim-sentinel sentinel.conf [--directive value]...`: redsim-server in Sentinel mode.

fn main() {
    redsim::cli::main(true);
}
