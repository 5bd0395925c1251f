//! One script or function run, as Redis' `scriptPrepareForRun` / `scriptCall` do it: the checks
//! before the run (declared flags, read-only replicas, NOREPLICAS, stale replicas), the script's
//! own client (the caller's database, RESP2 unless `redis.setresp`, never blocking), the checks
//! on every `redis.call`, and the effects: the commands the script ran reach replicas and the
//! AOF as they ran, wrapped in MULTI/EXEC when there are several (Redis 7's effects replication).
//!
//! A script runs to its end inside the command that started it: the core is single-threaded and
//! sans-IO, so there is no event loop to serve other clients meanwhile, and Redis' busy-script
//! mode (`-BUSY` replies, SCRIPT KILL, FUNCTION KILL) does not exist here. So that a runaway
//! script cannot hang the server, it is stopped once it has run longer than
//! `busy-reply-threshold` (`time_limit`), even after writes (which Redis would only end with
//! SHUTDOWN NOSAVE): the writes it made stay, and reach replicas and the AOF.

use super::convert::{lua_to_reply, reply_to_lua};
use super::engine::Engine;
use crate::commands::{flags, Call, CommandSpec};
use crate::config::LogLevel;
use crate::core::{ConnId, Now, Server};
use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Value};
use std::cell::RefCell;

/// The script's own client (Redis' "lua client"); it exists only during a run.
pub const SCRIPT_CLIENT_ID: ConnId = u64::MAX - 2;

/// Script flags (shebang `flags=` and `register_function`'s `flags`).
pub mod flag {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// An EVAL script without a shebang: Redis 6 rules.
    pub const EVAL_COMPAT: u32 = 1 << 5;

    /// The flag names Redis accepts, in its order.
    pub const NAMES: [(&str, u32); 5] = [
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];
}

/// What to run.
pub struct Job<'a> {
    pub func: Function,
    /// The script's sha (EVAL) or the function's name, for error messages.
    pub name: &'a str,
    pub keys: &'a [Bytes],
    pub args: &'a [Bytes],
    pub flags: u32,
    pub eval: bool,
    /// EVAL_RO, EVALSHA_RO, FCALL_RO.
    pub ro: bool,
}

const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
const READONLY: &str = "READONLY You can't write against a read only replica.";

/// Runs `job` for the client of `call` and writes the reply.
pub fn run(s: &mut Server, engine: &Engine, call: &Call, job: Job) {
    if let Some(err) = refusal(s, call, &job) {
        return s.reply(call.id).error(&err);
    }
    let db = s.clients[&call.id].db;
    s.add_internal_client(SCRIPT_CLIENT_ID, call.now);
    let sc = s.clients.get_mut(&SCRIPT_CLIENT_ID).expect("just added");
    sc.db = db;
    // Inside MULTI a blocking command does not block: neither does it in a script.
    sc.multi = Some(Default::default());
    let outer_exec = s.exec_effects.is_some();
    if !outer_exec {
        s.begin_exec_effects();
    }
    let compat = job.flags & flag::EVAL_COMPAT != 0;
    let limited = time_limit(s, engine);
    let ctx = RefCell::new(Run {
        obey: obeyed(call.id),
        s: &mut *s,
        now: call.now,
        resp: 2,
        replicate: true,
        read_only: job.ro || (!compat && job.flags & flag::NO_WRITES != 0),
        write_dirty: false,
    });
    let result = engine.lua.scope(|scope| {
        let (hooks, redis) = (&engine.hooks, &engine.redis);
        redis.raw_set(
            "call",
            scope.create_function(|lua, args: MultiValue| {
                match ctx.borrow_mut().redis_call(lua, args)? {
                    (_, Some(msg)) => Err(raised(&msg)),
                    (v, None) => Ok(v),
                }
            })?,
        )?;
        redis.raw_set(
            "pcall",
            scope.create_function(|lua, args: MultiValue| {
                Ok(ctx.borrow_mut().redis_call(lua, args)?.0)
            })?,
        )?;
        hooks.raw_set(
            "log",
            scope.create_function(|_, (level, msg): (u8, String)| {
                ctx.borrow_mut().s.log(log_level(level), msg);
                Ok(())
            })?,
        )?;
        hooks.raw_set(
            "setresp",
            scope.create_function(|_, v: u8| {
                ctx.borrow_mut().resp = v;
                Ok(())
            })?,
        )?;
        hooks.raw_set(
            "set_repl",
            scope.create_function(|_, v: u8| {
                ctx.borrow_mut().replicate = v != 0;
                Ok(())
            })?,
        )?;
        let out = engine.call(&job.func, job.keys, job.args, job.eval);
        for name in ["call", "pcall"] {
            redis.raw_set(name, Value::Nil)?;
        }
        for name in ["log", "setresp", "set_repl"] {
            hooks.raw_set(name, Value::Nil)?;
        }
        out
    });
    if limited {
        engine.lua.remove_hook();
    }
    let script_resp = ctx.into_inner().resp;
    s.free_client(SCRIPT_CLIENT_ID);
    match result {
        Ok((true, v)) => lua_to_reply(&mut s.reply(call.id), &v, script_resp),
        Ok((false, v)) => s.reply(call.id).error(&error_message(&v, job.name)),
        Err(e) => {
            let msg = e.to_string();
            let msg: String = msg.chars().take(100).collect();
            s.reply(call.id)
                .error(&format!("ERR Error running script {}, {msg}", job.name))
        }
    }
    if !outer_exec {
        s.end_exec_effects();
    }
}

/// The message of a script stopped by the time limit; Lua's pcall does not catch it.
pub const TIMED_OUT: &str = "ERR Script killed: it ran past busy-reply-threshold";

/// Arms the time limit for a run: every 1000 instructions a hook compares the shell's clock
/// with the run's start and stops the script once it is past `busy-reply-threshold` (0: no
/// limit). The core reads no clock of its own; a run is the one
/// place where time passes inside a single call, so the shell lends it `Env::mono_ms`. In
/// simulation that clock stands still during a call, so runs stay deterministic (and
/// unlimited). True if a hook was set.
fn time_limit(s: &Server, engine: &Engine) -> bool {
    let limit_ms = s
        .config
        .noop
        .get("busy-reply-threshold")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(5000);
    let Some(clock) = s.scripting.clock.clone().filter(|_| limit_ms > 0) else {
        return false;
    };
    arm(engine, clock, limit_ms, TIMED_OUT);
    true
}

/// Sets a hook that raises `msg` once `clock` is more than `limit_ms` past now.
pub fn arm(engine: &Engine, clock: crate::scripting::Clock, limit_ms: u64, msg: &'static str) {
    let start_ms = clock();
    let triggers = mlua::HookTriggers::new().every_nth_instruction(1000);
    let hook = move |_: &Lua, _: &mlua::debug::Debug| {
        if clock().saturating_sub(start_ms) > limit_ms {
            return Err(raised(msg));
        }
        Ok(mlua::VmState::Continue)
    };
    // Setting a hook fails only on a Lua state that is already closed.
    let _ = engine.lua.set_hook(triggers, hook);
}

/// The master's stream and the AOF are obeyed: no replica or disk checks for them.
fn obeyed(id: ConnId) -> bool {
    id == crate::core::replication::MASTER_CLIENT_ID || id == crate::core::aof::AOF_LOADER_ID
}

fn log_level(level: u8) -> LogLevel {
    match level {
        0 => LogLevel::Debug,
        1 => LogLevel::Verbose,
        2 => LogLevel::Notice,
        _ => LogLevel::Warning,
    }
}

/// Why the run may not start (Redis' scriptPrepareForRun), as the error reply.
fn refusal(s: &Server, call: &Call, job: &Job) -> Option<String> {
    let running_stale =
        !s.config.replica_serve_stale_data && s.repl.link.as_ref().is_some_and(|l| !l.is_up());
    if job.flags & flag::EVAL_COMPAT != 0 {
        return running_stale.then(|| {
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                .into()
        });
    }
    if running_stale && job.flags & flag::ALLOW_STALE == 0 {
        return Some("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.".into());
    }
    if job.flags & flag::NO_WRITES != 0 {
        return None;
    }
    let obey = obeyed(call.id);
    if s.repl.link.is_some() && s.config.replica_read_only && !obey {
        return Some("READONLY Can not run script with write flag on readonly replica".into());
    }
    if !obey {
        if s.writes_refused_misconf() {
            return Some("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.".into());
        }
        if let Some(e) = s.aof_write_refusal() {
            return Some(e);
        }
    }
    if job.ro {
        return Some("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    s.noreplicas_refusal(call.now).then(|| NOREPLICAS.into())
}

/// Redis' message for a failed run: the error, and where in the script it happened.
fn error_message(v: &Value, name: &str) -> String {
    let Value::Table(t) = v else {
        return format!("ERR Error running script {name}, execution failure");
    };
    let field = |k: &str| match t.raw_get::<Value>(k) {
        Ok(Value::String(s)) => Some(s.to_string_lossy()),
        Ok(Value::Number(n)) => Some((n as i64).to_string()),
        Ok(Value::Integer(n)) => Some(n.to_string()),
        _ => None,
    };
    let msg = field("err").unwrap_or_else(|| "ERR unknown error".into());
    match (field("source"), field("line")) {
        (Some(source), Some(line)) => format!("{msg} script: {name}, on {source}:{line}."),
        _ => msg,
    }
}

/// The state of one run that `redis.call` and friends reach.
struct Run<'a> {
    s: &'a mut Server,
    now: Now,
    /// The protocol the script reads replies in (`redis.setresp`).
    resp: u8,
    /// `redis.set_repl`: whether the script's writes reach replicas and the AOF.
    replicate: bool,
    read_only: bool,
    /// A write already ran: no more refusals that would leave the script half done.
    write_dirty: bool,
    obey: bool,
}

impl Run<'_> {
    /// `redis.call` / `redis.pcall`: the reply as a Lua value, and the message if it is an error.
    fn redis_call(&mut self, lua: &Lua, args: MultiValue) -> mlua::Result<(Value, Option<String>)> {
        let argv = match command_args(args) {
            Ok(argv) => argv,
            Err(msg) => return Ok((error_table(lua, msg)?, Some(msg.into()))),
        };
        let spec = match self.check(&argv) {
            Ok(spec) => spec,
            Err(msg) => return Ok((error_table(lua, &msg)?, Some(msg))),
        };
        let s = &mut *self.s;
        if let Some(c) = s.clients.get_mut(&SCRIPT_CLIENT_ID) {
            c.resp = self.resp;
        }
        let effects_before = s.exec_effects.as_ref().map_or(0, Vec::len);
        s.execute(SCRIPT_CLIENT_ID, spec, &argv, self.now);
        if !self.replicate {
            if let Some(effects) = s.exec_effects.as_mut() {
                effects.truncate(effects_before);
            }
        }
        let reply = s
            .clients
            .get_mut(&SCRIPT_CLIENT_ID)
            .map(|c| std::mem::take(&mut c.out))
            .unwrap_or_default();
        let (v, is_error) = reply_to_lua(lua, &reply)?;
        let msg = is_error.then(|| {
            let end = reply
                .iter()
                .position(|&b| b == b'\r')
                .unwrap_or(reply.len());
            String::from_utf8_lossy(&reply[1..end]).into_owned()
        });
        Ok((v, msg))
    }

    /// scriptCall's checks before a command runs; the error is the message for the script.
    fn check(&mut self, argv: &[Bytes]) -> Result<&'static CommandSpec, String> {
        let s = &*self.s;
        let spec = s
            .command(&argv[0])
            .ok_or("ERR Unknown Redis command called from script")?;
        let n = argv.len() as i32;
        if (spec.arity > 0 && n != spec.arity) || n < -spec.arity {
            return Err("ERR Wrong number of args calling Redis command from script".into());
        }
        if spec.flags & flags::NOSCRIPT != 0 {
            return Err("ERR This Redis command is not allowed from script".into());
        }
        if let Some(link) = s.repl.link.as_ref() {
            if !link.is_up() && !s.config.replica_serve_stale_data && spec.flags & flags::STALE == 0
            {
                return Err("ERR Can not execute the command on a stale replica".into());
            }
        }
        let write = spec.flags & flags::WRITE != 0;
        if self.read_only && spec.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0 {
            return Err("ERR Write commands are not allowed from read-only scripts.".into());
        }
        if !write || self.write_dirty {
            return Ok(spec);
        }
        if !self.obey {
            if s.repl.link.is_some() && s.config.replica_read_only {
                return Err(READONLY.into());
            }
            if s.writes_refused_misconf() {
                return Err(crate::core::persist::MISCONF.into());
            }
            if let Some(e) = s.aof_write_refusal() {
                return Err(e);
            }
        }
        if s.noreplicas_refusal(self.now) {
            return Err(NOREPLICAS.into());
        }
        self.write_dirty = true;
        Ok(spec)
    }
}

/// The arguments of `redis.call`: strings, or numbers as Redis prints them.
fn command_args(args: MultiValue) -> Result<Vec<Bytes>, &'static str> {
    if args.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    let bad = "ERR Lua redis lib command arguments must be strings or integers";
    args.iter()
        .map(|v| match v {
            Value::String(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(n) => Ok(Bytes::from(n.to_string())),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                Ok(Bytes::from((*n as i64).to_string()))
            }
            Value::Number(n) => Ok(Bytes::from(format!("{n}"))),
            _ => Err(bad),
        })
        .collect()
}

/// A Redis error raised from Rust, marked so the prelude turns it back into an error table.
pub fn raised(msg: &str) -> mlua::Error {
    mlua::Error::runtime(format!("\x01redis\x01{msg}\x01"))
}

/// Redis' error table: `{err = "CODE message"}`, flagged as already counted in the stats.
pub fn error_table(lua: &Lua, msg: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    t.raw_set("ignore_error_stats_update", true)?;
    Ok(Value::Table(t))
}
