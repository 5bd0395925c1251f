//! The function libraries (FUNCTION LOAD): the `#!lua name=<lib>` metadata line, running a
//! library's code so it can call `redis.register_function` (positional or named arguments,
//! flags), and the registry of libraries and their functions that FCALL, FUNCTION LIST / DUMP /
//! RESTORE / STATS and the RDB use.

use super::engine::Engine;
use super::run::{error_table, flag};
use super::Clock;
use bytes::Bytes;
use mlua::{Function, MultiValue, Table, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

pub struct FunctionDef {
    pub desc: Option<Bytes>,
    pub flags: u32,
    pub func: Function,
}

pub struct Library {
    /// The name as the metadata line gives it (libraries are found ignoring case).
    pub name: String,
    /// The whole FUNCTION LOAD payload, metadata line included.
    pub code: Bytes,
    pub functions: BTreeMap<String, FunctionDef>,
}

/// Every library by lowercase name, and which library each function (by lowercase name)
/// belongs to, with the function's own spelling: Redis finds both ignoring case.
#[derive(Default)]
pub struct Libraries {
    pub libs: BTreeMap<String, Library>,
    owner: BTreeMap<String, (String, String)>,
}

impl Libraries {
    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        let (lib, f) = self.owner.get(&name.to_ascii_lowercase())?;
        self.libs.get(lib)?.functions.get(f)
    }

    pub fn function_count(&self) -> usize {
        self.owner.len()
    }

    /// Removes library `name`; false if there is none.
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(lib) = self.libs.remove(&name.to_ascii_lowercase()) else {
            return false;
        };
        for f in lib.functions.keys() {
            self.owner.remove(&f.to_ascii_lowercase());
        }
        true
    }

    pub fn clear(&mut self) {
        self.libs.clear();
        self.owner.clear();
    }

    /// FUNCTION LOAD: compiles and registers the library in `code`; its name, or Redis' error.
    /// `clock` (absent when the master or the AOF loads it, as in Redis) limits the library's
    /// code to Redis' 500 ms.
    pub fn load(
        &mut self,
        engine: &Engine,
        code: &Bytes,
        replace: bool,
        clock: Option<Clock>,
    ) -> Result<String, String> {
        let (name, body) = metadata(code)?;
        if !valid_name(&name) {
            return Err(BAD_NAME.into());
        }
        let key = name.to_ascii_lowercase();
        if self.libs.contains_key(&key) && !replace {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let functions = register(engine, body, clock)?;
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        let taken = |f: &String| {
            let owner = self.owner.get(&f.to_ascii_lowercase());
            owner.is_some_and(|(lib, _)| *lib != key)
        };
        if let Some(f) = functions.keys().find(|f| taken(f)) {
            return Err(format!("ERR Function {f} already exists"));
        }
        self.remove(&key);
        for f in functions.keys() {
            self.owner
                .insert(f.to_ascii_lowercase(), (key.clone(), f.clone()));
        }
        let lib = Library {
            name: name.clone(),
            code: code.clone(),
            functions,
        };
        self.libs.insert(key, lib);
        Ok(name)
    }
}

/// How long a library's code may run at FUNCTION LOAD (Redis' LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The library name from the `#!<engine> name=<lib>` line, and the code after it (from the
/// line's newline on, so line numbers stay the user's).
fn metadata(code: &[u8]) -> Result<(String, &[u8]), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(eol) = code.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let parts = crate::text::split_args(&code[..eol])
        .filter(|p| !p.is_empty())
        .ok_or("ERR Invalid library metadata")?;
    let engine = String::from_utf8_lossy(&parts[0][2..]).into_owned();
    let mut name = None;
    for part in &parts[1..] {
        let text = String::from_utf8_lossy(part);
        match text.get(..5) {
            Some(p) if p.eq_ignore_ascii_case("name=") => {
                if name.is_some() {
                    return Err(
                        "ERR Invalid metadata value, name argument was given multiple times".into(),
                    );
                }
                name = Some(text[5..].to_string());
            }
            _ => return Err(format!("ERR Invalid metadata value given: {text}")),
        }
    }
    let name = name.ok_or("ERR Library name was not given")?;
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    Ok((name, &code[eol..]))
}

/// Runs a library's code with `redis.register_function` available; the functions it registered.
fn register(
    engine: &Engine,
    body: &[u8],
    clock: Option<Clock>,
) -> Result<BTreeMap<String, FunctionDef>, String> {
    let chunk = engine
        .compile("@user_function", body)
        .map_err(|e| format!("ERR Error compiling function: {e}"))?;
    if let Some(clock) = &clock {
        super::run::arm(
            engine,
            clock.clone(),
            LOAD_TIMEOUT_MS,
            "ERR FUNCTION LOAD timeout",
        );
    }
    let registered = RefCell::new(BTreeMap::new());
    let outcome = engine.lua.scope(|scope| {
        let hook = scope.create_function(|lua, args: MultiValue| {
            match register_one(&args, &mut registered.borrow_mut()) {
                Ok(()) => Ok((Value::Nil, true)),
                Err(msg) => Ok((error_table(lua, &msg)?, false)),
            }
        })?;
        engine.hooks.raw_set("register", hook)?;
        let out = engine.load_library(&chunk);
        engine.hooks.raw_set("register", Value::Nil)?;
        out
    });
    if clock.is_some() {
        engine.lua.remove_hook();
    }
    match outcome {
        Ok(None) => Ok(registered.into_inner()),
        Ok(Some(err)) => Err(format!("ERR Error registering functions: {err}")),
        Err(e) => Err(format!("ERR Error registering functions: {e}")),
    }
}

/// One `redis.register_function(name, callback)` or `redis.register_function{...}` call.
fn register_one(args: &MultiValue, into: &mut BTreeMap<String, FunctionDef>) -> Result<(), String> {
    let (name, def) = match args.len() {
        1 => named_args(&args[0])?,
        2 => {
            let name = match &args[0] {
                Value::String(s) => s.to_string_lossy(),
                Value::Integer(n) => n.to_string(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(
                        "ERR first argument to redis.register_function must be a string".into(),
                    )
                }
            };
            let Value::Function(func) = &args[1] else {
                return Err(
                    "ERR second argument to redis.register_function must be a function".into(),
                );
            };
            let def = FunctionDef {
                desc: None,
                flags: 0,
                func: func.clone(),
            };
            (name, def)
        }
        _ => return Err("ERR wrong number of arguments to redis.register_function".into()),
    };
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    if into.keys().any(|f| f.eq_ignore_ascii_case(&name)) {
        return Err("ERR Function already exists in the library".into());
    }
    into.insert(name, def);
    Ok(())
}

fn named_args(v: &Value) -> Result<(String, FunctionDef), String> {
    let Value::Table(t) = v else {
        return Err("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into());
    };
    let (mut name, mut desc, mut func, mut flags) = (None, None, None, 0);
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let Value::String(k) = k else {
            return Err(
                "ERR named argument key given to redis.register_function is not a string".into(),
            );
        };
        match k.to_string_lossy().to_ascii_lowercase().as_str() {
            "function_name" => match v {
                Value::String(s) => name = Some(s.to_string_lossy()),
                _ => return Err("ERR function_name argument given to redis.register_function must be a string".into()),
            },
            "description" => match v {
                Value::String(s) => desc = Some(Bytes::copy_from_slice(&s.as_bytes())),
                _ => return Err("ERR description argument given to redis.register_function must be a string".into()),
            },
            "callback" => match v {
                Value::Function(f) => func = Some(f),
                _ => return Err("ERR callback argument given to redis.register_function must be a function".into()),
            },
            "flags" => match v {
                Value::Table(f) => flags = read_flags(&f)?,
                _ => return Err("ERR flags argument to redis.register_function must be a table representing function flags".into()),
            },
            _ => return Err("ERR unknown argument given to redis.register_function".into()),
        }
    }
    let name = name.ok_or("ERR redis.register_function must get a function name argument")?;
    let func = func.ok_or("ERR redis.register_function must get a callback argument")?;
    Ok((name, FunctionDef { desc, flags, func }))
}

fn read_flags(t: &Table) -> Result<u32, String> {
    let mut flags = 0;
    for v in t.sequence_values::<Value>() {
        let Ok(Value::String(s)) = v else {
            return Err("ERR unknown flag given".into());
        };
        let s = s.to_string_lossy();
        let (_, f) = flag::NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&s))
            .ok_or("ERR unknown flag given")?;
        flags |= f;
    }
    Ok(flags)
}

/// The flag names of `flags`, in Redis' order (FUNCTION LIST).
pub fn flag_names(flags: u32) -> impl Iterator<Item = &'static str> {
    flag::NAMES
        .iter()
        .filter(move |(_, f)| flags & f != 0)
        .map(|(n, _)| *n)
}
