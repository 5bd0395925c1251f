//! redis.conf and the command line: `redsim-server [file.conf] [--directive value ...]`, and
//! CONFIG REWRITE (rewrite the file in place, keeping comments and unknown lines).

use super::{table, Config};
use crate::text::split_args;

/// A config error, printed the way Redis prints one before exiting with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds the config from command-line arguments (without the program name). The first argument
/// is a config file unless it starts with `--`. `read` loads a file's text.
pub fn load(
    args: &[String],
    read: impl Fn(&str) -> std::io::Result<String>,
) -> Result<(Config, Option<String>), ConfigError> {
    let mut config = Config::default();
    let mut rest = args;
    let mut text = None;
    if let Some(first) = args.first().filter(|a| !a.starts_with("--")) {
        let t = read(first).map_err(|e| {
            ConfigError(format!(
                "Fatal error, can't open config file '{first}': {e}"
            ))
        })?;
        apply_text(&mut config, &t)?;
        config.config_file = Some(first.clone());
        text = Some(t);
        rest = &args[1..];
    }
    let mut line = String::new();
    for a in rest {
        if let Some(name) = a.strip_prefix("--") {
            if !line.is_empty() {
                line.push('\n');
            }
            line.push_str(name);
        } else {
            line.push(' ');
            line.push_str(&crate::text::quote_arg(a.as_bytes()));
        }
    }
    apply_text(&mut config, &line)?;
    Ok((config, text))
}

/// Applies every line of a config text.
pub fn apply_text(config: &mut Config, text: &str) -> Result<(), ConfigError> {
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |msg: &str| {
            ConfigError(format!("\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}", crate::REDIS_VERSION, i + 1, line, msg))
        };
        let Some(args) = split_args(line.as_bytes()) else {
            return Err(bad("Unbalanced quotes in configuration line"));
        };
        let args: Vec<String> = args
            .into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect();
        let Some(d) = table::find(&args[0]) else {
            return Err(bad("Bad directive or wrong number of arguments"));
        };
        (d.set)(config, &args[1..]).map_err(|e| bad(&e))?;
    }
    Ok(())
}
