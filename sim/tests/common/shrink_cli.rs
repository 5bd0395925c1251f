//! Running `sim shrink` the way a user does, for the tests that shrink a failing seed: writes the
//! scenario text to a file, runs the binary, checks it succeeded and printed the replay command,
//! and returns the shrunk file's path.

use std::path::PathBuf;
use std::process::Command;

/// A file name unique to this test process.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("redsim-shrink-{}-{name}", std::process::id()))
}

/// Shrinks `scenario_text`'s failing `seed`; `name` keeps files of different tests apart. The
/// caller removes the returned file.
pub fn shrink(name: &str, scenario_text: &str, seed: u64) -> PathBuf {
    let input = temp_path(&format!("{name}.toml"));
    let out = temp_path(&format!("{name}-shrunk.toml"));
    std::fs::write(&input, scenario_text).expect("write scenario");
    let cli = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args([
            "shrink",
            &input.to_string_lossy(),
            "--seed",
            &seed.to_string(),
        ])
        .args(["--out", &out.to_string_lossy()])
        .output()
        .expect("sim shrink runs");
    let _ = std::fs::remove_file(&input);
    let stdout = String::from_utf8_lossy(&cli.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&cli.stderr));
    assert!(cli.status.success(), "sim shrink failed");
    let replay = format!(
        "replay: cargo run --release -p redsim-sim -- run {} --seed {seed}",
        out.display()
    );
    assert!(stdout.contains(&replay), "no replay line {replay:?}");
    out
}
