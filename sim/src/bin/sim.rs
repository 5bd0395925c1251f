//! `sim`: the simulation testbed's command line (`sim help` lists its commands: run, replay,
//! sweep, shrink, live). The work lives in `redsim_sim::cli`, `redsim_sim::sweep` and `redsim_sim::shrink`.

use redsim_sim::cli::{parse, run_command, Command, USAGE};
use redsim_sim::sweep::sweep_command;

fn main() {
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    if let Ok(a) = &args {
        if a.first().map(String::as_str) == Some("shrink") {
            std::process::exit(redsim_sim::shrink::cli(&a[1..]));
        }
        if a.first().map(String::as_str) == Some("live") {
            std::process::exit(redsim_sim::live::cli(&a[1..]));
        }
    }
    let code = match args
        .map_err(|a| format!("argument {a:?} is not UTF-8"))
        .and_then(|a| parse(&a))
    {
        Ok(Command::Help) => {
            println!("{USAGE}");
            0
        }
        Ok(Command::Run(o)) => run_command(&o),
        Ok(Command::Sweep(o)) => sweep_command(&o),
        Err(e) => {
            eprintln!("sim: {e}\n{USAGE}");
            2
        }
    };
    std::process::exit(code);
}
