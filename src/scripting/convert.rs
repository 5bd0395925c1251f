//! Redis' conversion rules between replies and Lua values, both ways.
//!
//! Reply to Lua (what `redis.call` returns): integer -> number, bulk -> string, null bulk or
//! null array -> false, array -> table, status -> `{ok=...}`, error -> `{err=...}`; with RESP3,
//! map -> `{map={...}}`, set -> `{set={member=true}}`, null -> nil, boolean -> boolean,
//! double -> `{double=n}`, big number -> `{big_number=s}`, verbatim -> `{verbatim_string={format,
//! string}}`; attributes are skipped.
//!
//! Lua to reply (what a script returns): string -> bulk, number -> integer (truncated), boolean
//! -> `:1`/null in RESP2 and a boolean in RESP3 (as the script's `redis.setresp` chose), tables
//! by their `err`/`ok`/`double`/`big_number`/`verbatim_string`/`map`/`set` field, else an array
//! that stops at the first nil; anything else is a null.

use crate::resp::Out;
use mlua::{Lua, Table, Value};

/// Deeper nesting than this is Redis' "reached lua stack limit" error, in both directions.
const MAX_DEPTH: usize = 1000;

/// The Lua value of the reply at the front of `buf`, and whether it is an error.
pub fn reply_to_lua(lua: &Lua, buf: &[u8]) -> mlua::Result<(Value, bool)> {
    let mut p = Parser { buf, pos: 0, lua };
    let is_error = buf.first() == Some(&b'-');
    Ok((p.value(0)?, is_error))
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    lua: &'a Lua,
}

impl Parser<'_> {
    fn line(&mut self) -> mlua::Result<&[u8]> {
        let rest = &self.buf[self.pos..];
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| mlua::Error::runtime("truncated reply"))?;
        self.pos += end + 2;
        Ok(&rest[..end])
    }

    fn number(&mut self) -> mlua::Result<i64> {
        let line = self.line()?;
        crate::resp::parse_i64(line).ok_or_else(|| mlua::Error::runtime("bad reply length"))
    }

    fn bulk(&mut self, len: i64) -> mlua::Result<&[u8]> {
        let len = usize::try_from(len).map_err(|_| mlua::Error::runtime("bad bulk length"))?;
        let start = self.pos;
        if self.buf.len() < start + len + 2 {
            return Err(mlua::Error::runtime("truncated reply"));
        }
        self.pos += len + 2;
        Ok(&self.buf[start..start + len])
    }

    fn field(&self, name: &str, v: impl mlua::IntoLua) -> mlua::Result<Value> {
        let t = self.lua.create_table()?;
        t.raw_set(name, v)?;
        Ok(Value::Table(t))
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        if depth > MAX_DEPTH {
            return Err(mlua::Error::runtime("reached lua stack limit"));
        }
        let Some(&kind) = self.buf.get(self.pos) else {
            return Ok(Value::Boolean(false));
        };
        self.pos += 1;
        let lua = self.lua;
        Ok(match kind {
            b':' => Value::Number(self.number()? as f64),
            b'$' => match self.number()? {
                n if n < 0 => Value::Boolean(false),
                n => Value::String(lua.create_string(self.bulk(n)?)?),
            },
            b'+' => {
                let s = lua.create_string(self.line()?)?;
                self.field("ok", s)?
            }
            b'-' => {
                let s = lua.create_string(self.line()?)?;
                let t = lua.create_table()?;
                t.raw_set("err", s)?;
                t.raw_set("ignore_error_stats_update", true)?;
                Value::Table(t)
            }
            b'*' | b'>' => match self.number()? {
                n if n < 0 => Value::Boolean(false),
                n => {
                    let t = lua.create_table()?;
                    for i in 0..n {
                        t.raw_set(i + 1, self.value(depth + 1)?)?;
                    }
                    Value::Table(t)
                }
            },
            b'%' => {
                let n = self.number()?;
                let t = lua.create_table()?;
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    let v = self.value(depth + 1)?;
                    t.raw_set(k, v)?;
                }
                self.field("map", t)?
            }
            b'~' => {
                let n = self.number()?;
                let t = lua.create_table()?;
                for _ in 0..n {
                    t.raw_set(self.value(depth + 1)?, true)?;
                }
                self.field("set", t)?
            }
            b'|' => {
                let n = self.number()?;
                for _ in 0..2 * n {
                    self.value(depth + 1)?;
                }
                self.value(depth)?
            }
            b'_' => {
                self.line()?;
                Value::Nil
            }
            b'#' => Value::Boolean(self.line()? == b"t"),
            b',' => {
                let line = self.line()?;
                let d = crate::text::parse_f64(line).unwrap_or(f64::NAN);
                self.field("double", d)?
            }
            b'(' => {
                let s = lua.create_string(self.line()?)?;
                self.field("big_number", s)?
            }
            b'=' => {
                let n = self.number()?;
                let body = self.bulk(n)?;
                let (format, text) = body.split_at(body.len().min(4));
                let t = lua.create_table()?;
                t.raw_set("format", lua.create_string(&format[..format.len().min(3)])?)?;
                t.raw_set("string", lua.create_string(text)?)?;
                self.field("verbatim_string", t)?
            }
            _ => return Err(mlua::Error::runtime("unknown reply type")),
        })
    }
}

/// Writes a script's return value as a reply; `script_resp` is the protocol the script chose
/// with `redis.setresp` (it decides how booleans come back in RESP2).
pub fn lua_to_reply(out: &mut Out, v: &Value, script_resp: u8) {
    write(out, v, script_resp, 0);
}

fn write(out: &mut Out, v: &Value, script_resp: u8, depth: usize) {
    if depth > MAX_DEPTH {
        return out.error("ERR reached lua stack limit");
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) if script_resp == 2 => match b {
            true => out.int(1),
            false => out.null(),
        },
        Value::Boolean(b) => out.boolean(*b),
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(*n as i64),
        Value::Table(t) => write_table(out, t, script_resp, depth),
        _ => out.null(),
    }
}

fn write_table(out: &mut Out, t: &Table, script_resp: u8, depth: usize) {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        return out.error(&e.to_string_lossy());
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        return out.simple(&s.to_string_lossy().replace(['\r', '\n'], " "));
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        return out.double(d);
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        return out.double(d as f64);
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        return out.big_number(&s.to_string_lossy().replace(['\r', '\n'], " "));
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(f)), Ok(Value::String(s))) =
            (vt.raw_get::<Value>("format"), vt.raw_get::<Value>("string"))
        {
            return verbatim(out, &f.as_bytes(), &s.as_bytes());
        }
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().flatten().collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            write(out, k, script_resp, depth + 1);
            write(out, v, script_resp, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let members: Vec<Value> = s
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        out.set(members.len());
        for m in &members {
            write(out, m, script_resp, depth + 1);
        }
        return;
    }
    let mut items = Vec::new();
    while let Ok(v) = t.raw_get::<Value>(items.len() + 1) {
        if v.is_nil() {
            break;
        }
        items.push(v);
    }
    out.array(items.len());
    for v in &items {
        write(out, v, script_resp, depth + 1);
    }
}

/// A verbatim string with its three-letter format (RESP3), or a bulk string (RESP2).
fn verbatim(out: &mut Out, format: &[u8], text: &[u8]) {
    if !out.is_resp3() {
        return out.bulk(text);
    }
    let mut body = format.to_vec();
    body.resize(3, b' ');
    body.push(b':');
    body.extend_from_slice(text);
    out.raw(format!("={}\r\n", body.len()).as_bytes());
    out.raw(&body);
    out.raw(b"\r\n");
}
