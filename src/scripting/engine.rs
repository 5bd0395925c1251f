//! One Lua 5.1 state with Redis' sandbox: the base, table, string and math libraries, the
//! prelude (`prelude.lua`: read-only globals, the `redis` table, Redis' error handler), and
//! `math.random` on Redis' rand48 sequence shared by every state of the server.
//!
//! The functions that reach the server (`redis.call`, `redis.log`, `register_function`, ...) are
//! not part of the state: the prelude calls them through the `hooks` table, which a run or a
//! FUNCTION LOAD fills with scoped Rust closures for its own length (`run.rs`).

use super::rand48::Rand48;
use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value, Variadic};
use std::sync::{Arc, Mutex};

/// Redis 7.2.6 as `REDIS_VERSION_NUM` encodes it (0x00MMmmpp).
const VERSION_NUM: i64 = 0x0007_0206;
const PRELUDE: &str = include_str!("prelude.lua");

pub struct Engine {
    pub lua: Lua,
    /// The globals every compiled chunk sees.
    env: Table,
    run: Function,
    load: Function,
    pub hooks: Table,
    /// The real `redis` table (scripts see a read-only view): a run sets `call` and `pcall`.
    pub redis: Table,
}

impl Engine {
    pub fn new(rand: Arc<Mutex<Rand48>>) -> mlua::Result<Engine> {
        // SAFETY: the debug library is loaded only for the prelude's error handler, which keeps
        // it as a local; the prelude removes it from the globals before any user code runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        let rs = lua.create_table()?;
        rs.set("hooks", lua.create_table()?)?;
        rs.set("version", crate::REDIS_VERSION)?;
        rs.set("version_num", VERSION_NUM)?;
        rs.set("timed_out", super::run::TIMED_OUT)?;
        rs.set(
            "sha1hex",
            lua.create_function(|_, s: mlua::LuaString| Ok(sha1hex(&s.as_bytes())))?,
        )?;
        let r = rand.clone();
        rs.set(
            "random",
            lua.create_function(move |_, bounds: Variadic<f64>| {
                random(&mut r.lock().expect("rand48"), &bounds)
            })?,
        )?;
        rs.set(
            "randomseed",
            lua.create_function(move |_, seed: f64| {
                rand.lock().expect("rand48").seed(seed as i32);
                Ok(())
            })?,
        )?;
        rs.set("libs", super::libs::tables(&lua)?)?;
        let ctl: Table = lua.load(PRELUDE).set_name("=redsim").call(rs.clone())?;
        Ok(Engine {
            env: ctl.get("env")?,
            run: ctl.get("run")?,
            load: ctl.get("load")?,
            hooks: rs.get("hooks")?,
            redis: ctl.get("redis")?,
            lua,
        })
    }

    /// Compiles `code` as chunk `name` (`@user_script`, `@user_function`) in the sandbox; the
    /// error is Lua's message.
    pub fn compile(&self, name: &str, code: &[u8]) -> Result<Function, String> {
        self.lua
            .load(code)
            .set_name(name)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                e => e.to_string(),
            })
    }

    /// Calls a script body (`eval`: KEYS and ARGV as globals) or a function callback under
    /// Redis' error handler: `Ok((true, value))`, or `Ok((false, error table))`.
    pub fn call(
        &self,
        f: &Function,
        keys: &[Bytes],
        args: &[Bytes],
        eval: bool,
    ) -> mlua::Result<(bool, Value)> {
        let keys = self.strings(keys)?;
        let args = self.strings(args)?;
        let mut out: MultiValue = self.run.call((f.clone(), keys, args, eval))?;
        let ok = matches!(out.pop_front(), Some(Value::Boolean(true)));
        Ok((ok, out.pop_front().unwrap_or(Value::Nil)))
    }

    /// Runs a library's code with the load-time globals; `Some` is Redis' error message.
    pub fn load_library(&self, f: &Function) -> mlua::Result<Option<String>> {
        self.load.call(f.clone())
    }

    fn strings(&self, items: &[Bytes]) -> mlua::Result<Table> {
        let t = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            t.raw_set(i + 1, self.lua.create_string(item)?)?;
        }
        Ok(t)
    }
}

/// Lowercase hex SHA-1, as scripts are named.
pub fn sha1hex(data: &[u8]) -> String {
    crate::commands::debug::sha1::sha1(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Lua 5.1's math.random over Redis' rand48 sequence (same numbers as Redis for the same seed).
fn random(r: &mut Rand48, bounds: &[f64]) -> mlua::Result<f64> {
    let x = f64::from(r.next() % Rand48::MAX) / f64::from(Rand48::MAX);
    let interval = |lo: i64, hi: i64, arg: u8| {
        if lo > hi {
            return Err(mlua::Error::runtime(format!(
                "bad argument #{arg} to 'random' (interval is empty)"
            )));
        }
        Ok((x * (hi - lo + 1) as f64).floor() + lo as f64)
    };
    match bounds {
        [] => Ok(x),
        [u] => interval(1, *u as i64, 1),
        [l, u] => interval(*l as i64, *u as i64, 2),
        _ => Err(mlua::Error::runtime("wrong number of arguments")),
    }
}
