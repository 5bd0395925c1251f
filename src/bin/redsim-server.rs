//! `redsim-server [file.conf] [--directive value]... [--sentinel]`: a Redis-compatible server on
//! tokio (a Sentinel with `--sentinel`).

fn main() {
    redsim::cli::main(false);
}
