//! Lua scripting as Redis 7.2 embeds it: EVAL scripts and FUNCTION libraries on Lua 5.1 (mlua,
//! vendored), each kind in its own Lua state, as in Redis.
//!
//! Files: `engine` (a Lua state with Redis' sandbox, built by `prelude.lua`), `convert` (replies
//! to Lua values and back), `run` (one run: the checks, `redis.call`, effects replication),
//! `functions` (library metadata, `redis.register_function`, the registry), `libs` (`bit`)
//! and `cjson`, `rand48` (Redis' `math.random`). The commands are in `commands::scripting` and
//! `commands::functions`.
//!
//! Determinism: scripts see no clock and no OS; `math.random` follows Redis' fixed-seed rand48
//! sequence, shared by the server's states and reset only by `math.randomseed`.

mod cjson;
mod convert;
pub mod engine;
pub mod functions;
mod libs;
mod rand48;
pub mod run;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use engine::Engine;
use mlua::Function;
use rand48::Rand48;
use run::flag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A script in the EVAL cache.
pub struct Script {
    pub body: Bytes,
    pub flags: u32,
    pub func: Function,
}

/// A monotonic clock in milliseconds, read only by a running script's time-limit check.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

pub struct Scripting {
    rand: Arc<Mutex<Rand48>>,
    /// Supplied by the shell (`Env::mono_ms`); see `run::time_limit` for why a run reads it.
    pub clock: Option<Clock>,
    pub eval: Arc<Engine>,
    /// The EVAL / SCRIPT LOAD cache by lowercase sha1.
    pub scripts: BTreeMap<String, Script>,
    pub functions: Arc<Engine>,
    pub libraries: functions::Libraries,
}

impl Default for Scripting {
    fn default() -> Self {
        let rand = Arc::new(Mutex::new(Rand48::default()));
        Scripting {
            eval: Arc::new(new_engine(&rand)),
            functions: Arc::new(new_engine(&rand)),
            rand,
            clock: None,
            scripts: BTreeMap::new(),
            libraries: Default::default(),
        }
    }
}

fn new_engine(rand: &Arc<Mutex<Rand48>>) -> Engine {
    Engine::new(rand.clone()).expect("the Lua prelude loads")
}

impl Scripting {
    /// Adds `body` to the EVAL cache (compiling it once); its sha, or Redis' error.
    pub fn create(&mut self, body: &Bytes) -> Result<String, String> {
        let sha = engine::sha1hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = shebang(body)?;
        let func = self
            .eval
            .compile("@user_script", &body[skip..])
            .map_err(|e| format!("ERR Error compiling script (new function): {e}"))?;
        let script = Script {
            body: body.clone(),
            flags,
            func,
        };
        self.scripts.insert(sha.clone(), script);
        Ok(sha)
    }

    /// SCRIPT FLUSH: an empty cache in a fresh Lua state.
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        self.eval = Arc::new(new_engine(&self.rand));
    }

    /// FUNCTION FLUSH: no libraries, a fresh Lua state.
    pub fn flush_functions(&mut self) {
        self.libraries.clear();
        self.functions = Arc::new(new_engine(&self.rand));
    }

    /// Loads libraries (from an RDB file, a full sync, FUNCTION RESTORE) over the current ones.
    pub fn load_libraries(&mut self, codes: &[Bytes], replace: bool) -> Result<(), String> {
        let engine = self.functions.clone();
        for code in codes {
            self.libraries.load(&engine, code, replace, None)?;
        }
        Ok(())
    }

    /// Every library's source, for the RDB and FUNCTION DUMP.
    pub fn library_codes(&self) -> Vec<Bytes> {
        self.libraries
            .libs
            .values()
            .map(|l| l.code.clone())
            .collect()
    }
}

/// An EVAL script's flags from its `#!lua flags=...` line (no line: Redis 6 compatibility),
/// and how many bytes the line takes (its newline stays, so line numbers stay the user's).
fn shebang(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((flag::EVAL_COMPAT, 0));
    }
    let Some(eol) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let parts = crate::text::split_args(&body[..eol])
        .filter(|p| !p.is_empty())
        .ok_or("ERR Invalid engine in script shebang")?;
    if parts[0] != b"#!lua" {
        let engine = String::from_utf8_lossy(&parts[0]);
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = 0;
    for part in &parts[1..] {
        let text = String::from_utf8_lossy(part);
        let Some(list) = text.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {text}"));
        };
        for name in list.split(',').filter(|_| !list.is_empty()) {
            let (_, f) = flag::NAMES
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| format!("ERR Unexpected flag in script shebang: {name}"))?;
            flags |= f;
        }
    }
    Ok((flags, eol))
}

/// A number as Lua 5.1 prints it (`%.14g`).
pub fn lua_number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e14 {
        return format!("{}", n as i64);
    }
    if !n.is_finite() {
        return match (n.is_nan(), n > 0.0) {
            (true, _) => "nan".into(),
            (_, true) => "inf".into(),
            _ => "-inf".into(),
        };
    }
    let sci = format!("{n:.13e}");
    let (mantissa, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    if !(-4..14).contains(&exp) {
        let m = mantissa.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let fixed = format!("{n:.*}", (13 - exp).max(0) as usize);
    match fixed.contains('.') {
        true => fixed
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string(),
        false => fixed,
    }
}
