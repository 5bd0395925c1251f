//! `redsim-sentinel sentinel.conf [--directive value]...`: redsim-server in Sentinel mode.

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    redsim::cli::main(true);
}
