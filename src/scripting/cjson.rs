//! `cjson` as Redis ships it (lua-cjson 2.1): `encode`, `decode`, `null`, and the settings
//! scripts use (`encode_max_depth`, `decode_max_depth`, `encode_invalid_numbers`,
//! `encode_keep_buffer`). Tables whose keys are all positive integers encode as arrays (unless
//! excessively sparse), others as objects; numbers print with 14 significant digits.

use mlua::{Lua, LuaString, Table, Value};
use std::sync::{Arc, Mutex};

struct Settings {
    encode_max_depth: usize,
    decode_max_depth: usize,
    invalid_numbers: bool,
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let settings = Arc::new(Mutex::new(Settings {
        encode_max_depth: 1000,
        decode_max_depth: 1000,
        invalid_numbers: false,
    }));
    let t = lua.create_table()?;
    let null = Value::LightUserData(mlua::LightUserData(std::ptr::null_mut()));
    t.set("null", null)?;
    let s = settings.clone();
    t.set(
        "encode",
        lua.create_function(move |lua, v: Value| {
            let (max_depth, invalid) = {
                let s = s.lock().expect("cjson settings");
                (s.encode_max_depth, s.invalid_numbers)
            };
            let mut out = Vec::new();
            encode(&mut out, &v, 1, max_depth, invalid).map_err(mlua::Error::runtime)?;
            lua.create_string(out)
        })?,
    )?;
    let s = settings.clone();
    t.set(
        "decode",
        lua.create_function(move |lua, text: LuaString| {
            let max_depth = s.lock().expect("cjson settings").decode_max_depth;
            let bytes = text.as_bytes();
            let mut p = Decoder {
                lua,
                s: &bytes,
                pos: 0,
                max_depth,
            };
            let v = p.value(1)?;
            p.skip_ws();
            if p.pos < p.s.len() {
                return Err(p.error("the end"));
            }
            Ok(v)
        })?,
    )?;
    let setting = |f: fn(&mut Settings, f64)| {
        let s = settings.clone();
        lua.create_function(move |_, v: Option<Value>| {
            let n = match v {
                Some(Value::Integer(n)) => n as f64,
                Some(Value::Number(n)) => n,
                Some(Value::Boolean(b)) => f64::from(u8::from(b)),
                _ => return Ok(()),
            };
            f(&mut s.lock().expect("cjson settings"), n);
            Ok(())
        })
    };
    t.set(
        "encode_max_depth",
        setting(|s, n| s.encode_max_depth = n.max(1.0) as usize)?,
    )?;
    t.set(
        "decode_max_depth",
        setting(|s, n| s.decode_max_depth = n.max(1.0) as usize)?,
    )?;
    t.set(
        "encode_invalid_numbers",
        setting(|s, n| s.invalid_numbers = n != 0.0)?,
    )?;
    t.set("encode_keep_buffer", setting(|_, _| ())?)?;
    Ok(t)
}

fn number(out: &mut Vec<u8>, n: f64, invalid_ok: bool) -> Result<(), String> {
    if !n.is_finite() {
        if !invalid_ok {
            return Err("Cannot serialise number: must not be NaN or Inf".into());
        }
        let s = if n.is_nan() {
            "nan"
        } else if n > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        out.extend_from_slice(s.as_bytes());
        return Ok(());
    }
    out.extend_from_slice(crate::scripting::lua_number_text(n).as_bytes());
    Ok(())
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b if b < 0x20 || b == 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            b => out.push(b),
        }
    }
    out.push(b'"');
}

fn encode(out: &mut Vec<u8>, v: &Value, depth: usize, max: usize, inv: bool) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => number(out, *n as f64, inv)?,
        Value::Number(n) => number(out, *n, inv)?,
        Value::String(s) => string(out, &s.as_bytes()),
        Value::Table(t) => {
            if depth > max {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            let pairs: Vec<(Value, Value)> = t.pairs::<Value, Value>().flatten().collect();
            match array_len(&pairs)? {
                Some(len) => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
                        encode(out, &item, depth + 1, max, inv)?;
                    }
                    out.push(b']');
                }
                None => {
                    out.push(b'{');
                    for (i, (k, v)) in pairs.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        match k {
                            Value::String(s) => string(out, &s.as_bytes()),
                            Value::Integer(n) => string(out, n.to_string().as_bytes()),
                            Value::Number(n) => {
                                string(out, crate::scripting::lua_number_text(*n).as_bytes())
                            }
                            _ => {
                                return Err(
                                    "Cannot serialise table: table key must be a number or string"
                                        .into(),
                                )
                            }
                        }
                        out.push(b':');
                        encode(out, v, depth + 1, max, inv)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ))
        }
    }
    Ok(())
}

/// `Some(n)` when the keys are exactly positive integers (an array of `n` with holes as
/// null), `None` for an object; an excessively sparse array is an error, as in lua-cjson.
fn array_len(pairs: &[(Value, Value)]) -> Result<Option<usize>, String> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut max = 0usize;
    for (k, _) in pairs {
        let n = match k {
            Value::Integer(n) => *n as f64,
            Value::Number(n) => *n,
            _ => return Ok(None),
        };
        if n < 1.0 || n.fract() != 0.0 {
            return Ok(None);
        }
        max = max.max(n as usize);
    }
    if max > 10 && max > pairs.len() * 2 {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok(Some(max))
}

struct Decoder<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Decoder<'_> {
    fn error(&self, expected: &str) -> mlua::Error {
        mlua::Error::runtime(format!(
            "Expected {expected} but found invalid token at character {}",
            self.pos + 1
        ))
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> mlua::Result<Value> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            return Ok(v);
        }
        Err(self.error("value"))
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        self.skip_ws();
        let Some(&c) = self.s.get(self.pos) else {
            return Err(self.error("value"));
        };
        match c {
            b'{' | b'[' if depth > self.max_depth => Err(mlua::Error::runtime(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.pos + 1
            ))),
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => Ok(Value::String(self.lua.create_string(self.string()?)?)),
            b't' => self.literal(b"true", Value::Boolean(true)),
            b'f' => self.literal(b"false", Value::Boolean(false)),
            b'n' => self.literal(
                b"null",
                Value::LightUserData(mlua::LightUserData(std::ptr::null_mut())),
            ),
            _ => self.number(),
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        while self.pos < self.s.len()
            && matches!(
                self.s[self.pos],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.pos += 1;
        }
        std::str::from_utf8(&self.s[start..self.pos])
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .map(Value::Number)
            .ok_or_else(|| {
                self.pos = start;
                self.error("value")
            })
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err(self.error("string end"));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(self.error("escape"));
                    };
                    self.pos += 1;
                    match e {
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.pos..self.pos + 4)
                                .ok_or(self.error("hex"))?;
                            let code = std::str::from_utf8(hex)
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or(self.error("hex"))?;
                            self.pos += 4;
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        e => out.push(e),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn array(&mut self, depth: usize) -> mlua::Result<Value> {
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Table(t));
        }
        for i in 1.. {
            t.raw_set(i, self.value(depth + 1)?)?;
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("comma or array end")),
            }
        }
        Ok(Value::Table(t))
    }

    fn object(&mut self, depth: usize) -> mlua::Result<Value> {
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.error("object key string"));
            }
            let key = self.lua.create_string(self.string()?)?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.error("colon"));
            }
            self.pos += 1;
            t.raw_set(key, self.value(depth + 1)?)?;
            self.skip_ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("comma or object end")),
            }
        }
        Ok(Value::Table(t))
    }
}
