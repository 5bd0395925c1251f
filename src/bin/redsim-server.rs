//! `redsim-server [file.conf] [--directive value]... [--sentinel]`: a Redis-compatible server on
//! tokio (a Sentinel with `--sentinel`).

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    redsim::cli::main(false);
}
