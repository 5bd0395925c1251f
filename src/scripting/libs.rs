//! The libraries Redis adds to Lua, written in Rust: `bit` (LuaBitOp: 32-bit operations on Lua
//! numbers) here, `cjson` in `cjson.rs`. `cmsgpack` and `struct` are not provided yet: scripts
//! that use them get Redis' "nonexistent global variable" error.

use mlua::{Lua, Table, Variadic};

/// The library tables, by global name.
pub fn tables(lua: &Lua) -> mlua::Result<Table> {
    let libs = lua.create_table()?;
    libs.set("bit", bit(lua)?)?;
    libs.set("cjson", super::cjson::table(lua)?)?;
    Ok(libs)
}

/// LuaBitOp's normalisation: the number modulo 2^32, as a signed 32-bit integer.
fn tobit(n: f64) -> i32 {
    let n = n.rem_euclid(4_294_967_296.0);
    n as u64 as u32 as i32
}

fn fold(args: &[f64], f: fn(i32, i32) -> i32) -> i32 {
    args.iter().map(|&n| tobit(n)).reduce(f).unwrap_or(0)
}

fn bit(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("tobit", lua.create_function(|_, n: f64| Ok(tobit(n)))?)?;
    t.set("bnot", lua.create_function(|_, n: f64| Ok(!tobit(n)))?)?;
    t.set(
        "band",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, |x, y| x & y)))?,
    )?;
    t.set(
        "bor",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, |x, y| x | y)))?,
    )?;
    t.set(
        "bxor",
        lua.create_function(|_, a: Variadic<f64>| Ok(fold(&a, |x, y| x ^ y)))?,
    )?;
    let shift = |f: fn(i32, u32) -> i32| {
        move |_: &Lua, (x, n): (f64, f64)| Ok(f(tobit(x), tobit(n) as u32 & 31))
    };
    t.set(
        "lshift",
        lua.create_function(shift(|x, n| ((x as u32) << n) as i32))?,
    )?;
    t.set(
        "rshift",
        lua.create_function(shift(|x, n| ((x as u32) >> n) as i32))?,
    )?;
    t.set("arshift", lua.create_function(shift(|x, n| x >> n))?)?;
    t.set(
        "rol",
        lua.create_function(shift(|x, n| (x as u32).rotate_left(n) as i32))?,
    )?;
    t.set(
        "ror",
        lua.create_function(shift(|x, n| (x as u32).rotate_right(n) as i32))?,
    )?;
    t.set(
        "bswap",
        lua.create_function(|_, n: f64| Ok(tobit(n).swap_bytes()))?,
    )?;
    t.set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| {
            let n = n.map_or(8, tobit);
            let digits = n.unsigned_abs().min(8) as usize;
            let v = tobit(x) as u32 as u64;
            let hex = match n < 0 {
                true => format!("{v:08X}"),
                false => format!("{v:08x}"),
            };
            Ok(hex[8 - digits..].to_string())
        })?,
    )?;
    Ok(t)
}
