//! List commands that move elements between keys or pop across keys: LMOVE, RPOPLPUSH, LMPOP,
//! and the argument parsing LMPOP shares with ZMPOP.

use super::{as_list, as_list_mut, write, End, List};
use crate::commands::{is, Cx, Propagate};
use crate::db::Value;
use crate::resp::{parse_i64, Out};
use bytes::Bytes;

/// LEFT or RIGHT; `None` once the syntax error is sent.
fn end_arg(cx: &mut Cx, arg: &[u8]) -> Option<End> {
    if is(arg, "left") {
        Some(End::Left)
    } else if is(arg, "right") {
        Some(End::Right)
    } else {
        cx.syntax_error();
        None
    }
}

pub(super) fn lmove(cx: &mut Cx, args: &[Bytes]) {
    let Some(from) = end_arg(cx, &args[3]) else {
        return;
    };
    if let Some(to) = end_arg(cx, &args[4]) {
        move_one(cx, &args[1], &args[2], from, to);
    }
}

pub(super) fn rpoplpush(cx: &mut Cx, args: &[Bytes]) {
    move_one(cx, &args[1], &args[2], End::Right, End::Left);
}

/// Pops one element from `src` and pushes it onto `dst` (which may be `src`, rotating it);
/// replies the element, or null when `src` is missing. Both keys are type-checked first.
fn move_one(cx: &mut Cx, src: &Bytes, dst: &Bytes, from: End, to: End) {
    let (now, mode) = (cx.now_ms(), cx.mode());
    match cx.db().get_as(src, now, mode, as_list) {
        Err(e) => return cx.out.error(e),
        Ok(None) => return cx.out.null(),
        Ok(Some(_)) => {}
    }
    if let Err(e) = cx.db().get_as(dst, now, mode, as_list) {
        return cx.out.error(e);
    }
    let Ok(Some(list)) = write(cx, src) else {
        return cx.out.null();
    };
    let popped = match from {
        End::Left => list.pop_front(),
        End::Right => list.pop_back(),
    };
    let Some(value) = popped else {
        return cx.out.null();
    };
    let made = cx.db().get_or_create_as(
        dst,
        now,
        mode,
        || Value::List(Box::new(List::new())),
        as_list_mut,
    );
    if let Ok(list) = made {
        match to {
            End::Left => list.push_front(value.clone()),
            End::Right => list.push_back(value.clone()),
        }
    }
    cx.db().remove_if_empty(src);
    cx.dirty += 1;
    cx.out.bulk(&value);
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first non-empty list;
/// replicated as LPOP/RPOP of that key with the number popped.
pub(super) fn lmpop(cx: &mut Cx, args: &[Bytes]) {
    let Some((keys, right, count)) = mpop_args(&mut cx.out, args, ["left", "right"]) else {
        return;
    };
    for key in keys {
        let list = match write(cx, key) {
            Err(()) => return,
            Ok(None) => continue,
            Ok(Some(l)) => l,
        };
        let n = count.min(list.len());
        let popped: Vec<Bytes> = if right {
            list.drain(list.len() - n..).rev().collect()
        } else {
            list.drain(..n).collect()
        };
        cx.dirty += n as u64;
        cx.db().remove_if_empty(key);
        let name = if right { "RPOP" } else { "LPOP" };
        let n = Bytes::from(n.to_string());
        cx.propagate = Propagate::Replace(vec![vec![Bytes::from(name), key.clone(), n]]);
        cx.out.array(2);
        cx.out.bulk(key);
        return cx.out.bulks(popped.iter());
    }
    cx.out.null_array();
}

/// The arguments of LMPOP and ZMPOP after the command name, `numkeys key... SIDE [COUNT n]`,
/// where SIDE is one of `sides`: the keys, whether SIDE was the second word, and the count.
pub(crate) fn mpop_args<'a>(
    out: &mut Out,
    args: &'a [Bytes],
    sides: [&str; 2],
) -> Option<(&'a [Bytes], bool, usize)> {
    let numkeys = at_least_one(out, &args[1], "numkeys")?;
    let side = numkeys.checked_add(2).and_then(|i| args.get(i));
    let second = match side {
        Some(s) if is(s, sides[0]) => false,
        Some(s) if is(s, sides[1]) => true,
        _ => {
            out.error("ERR syntax error");
            return None;
        }
    };
    let count = match &args[numkeys + 3..] {
        [] => 1,
        [c, n] if is(c, "count") => at_least_one(out, n, "count")?,
        _ => {
            out.error("ERR syntax error");
            return None;
        }
    };
    Some((&args[2..numkeys + 2], second, count))
}

/// A number >= 1, else "`what` should be greater than 0".
pub(crate) fn at_least_one(out: &mut Out, arg: &[u8], what: &str) -> Option<usize> {
    let n = parse_i64(arg).filter(|n| *n >= 1);
    if n.is_none() {
        out.error(&format!("ERR {what} should be greater than 0"));
    }
    n.map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

#[cfg(test)]
#[path = "moves_tests.rs"]
mod tests;
