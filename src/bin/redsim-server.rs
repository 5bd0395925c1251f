//! `redsim-server [file.conf] [--directive value]...`: a Redis-compatible server on tokio.

use redsim::config::file::load;
use redsim::tokio_env::TokioEnv;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "Redis server v={} sha=00000000:0 malloc=libc bits=64 build=redsim",
            redsim::REDIS_VERSION
        );
        return;
    }
    let (config, text) = match load(&args, |p| std::fs::read_to_string(p)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let env = match TokioEnv::new(&config.logfile) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("Can't open the log file: {e}");
            std::process::exit(1);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = rt.block_on(redsim::shell::run_server(env, config, text));
    if let Err(e) = result {
        eprintln!("# {e}");
        std::process::exit(1);
    }
}
