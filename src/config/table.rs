//! The directive table: every config name the server knows, how to parse it into `Config`, and
//! how CONFIG GET / CONFIG REWRITE print it back. Names and defaults follow Redis 7.2.

use super::Config;

/// One directive. `set` receives the arguments after the name (already split like redis.conf).
pub struct Directive {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub get: fn(&Config) -> String,
    pub set: fn(&mut Config, &[String]) -> Result<(), String>,
    /// CONFIG SET refuses these ("can't set immutable config").
    pub immutable: bool,
}

fn one(args: &[String]) -> Result<&str, String> {
    match args {
        [a] => Ok(a),
        _ => Err("wrong number of arguments".into()),
    }
}

fn num<T: std::str::FromStr>(args: &[String]) -> Result<T, String> {
    one(args)?
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "port",
        aliases: &[],
        get: |c| c.port.to_string(),
        set: |c, a| {
            c.port = num(a)?;
            Ok(())
        },
        immutable: false,
    },
    Directive {
        name: "requirepass",
        aliases: &[],
        get: |c| {
            c.requirepass
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
        set: |c, a| {
            let p = one(a)?;
            c.requirepass = (!p.is_empty()).then(|| bytes::Bytes::copy_from_slice(p.as_bytes()));
            Ok(())
        },
        immutable: false,
    },
    Directive {
        name: "daemonize",
        aliases: &[],
        get: |_| "no".into(),
        set: |_, a| {
            one(a)?;
            Ok(())
        },
        immutable: true,
    },
];

/// Finds a directive by name or alias (case-insensitive).
pub fn find(name: &str) -> Option<&'static Directive> {
    let name = name.to_ascii_lowercase();
    DIRECTIVES
        .iter()
        .find(|d| d.name == name || d.aliases.contains(&name.as_str()))
}
