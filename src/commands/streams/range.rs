//! XRANGE, XREVRANGE (inclusive or `(` exclusive bounds, COUNT) and XLEN.

use super::{bound_arg, read, reply_entries};
use crate::commands::{data, flags::*, int_arg, is, CommandSpec, Cx};
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    data("xrange", -4, READONLY, (1, 1, 1), xrange),
    data("xrevrange", -4, READONLY, (1, 1, 1), xrevrange),
    data("xlen", 2, READONLY | FAST, (1, 1, 1), xlen),
];

fn xrange(cx: &mut Cx, args: &[Bytes]) {
    range(cx, args, &args[2], &args[3], false);
}

fn xrevrange(cx: &mut Cx, args: &[Bytes]) {
    range(cx, args, &args[3], &args[2], true);
}

fn range(cx: &mut Cx, args: &[Bytes], start: &[u8], end: &[u8], rev: bool) {
    let Some(start) = bound_arg(&mut cx.out, start, 0, false) else {
        return;
    };
    let Some(end) = bound_arg(&mut cx.out, end, u64::MAX, true) else {
        return;
    };
    let mut count = None;
    let mut i = 4;
    while i < args.len() {
        if !(is(&args[i], "count") && i + 1 < args.len()) {
            return cx.syntax_error();
        }
        let Some(n) = int_arg(&mut cx.out, &args[i + 1]) else {
            return;
        };
        count = Some(n.max(0) as usize);
        i += 2;
    }
    let Ok((st, out)) = read(cx, &args[1]) else {
        return;
    };
    match (st, count) {
        (None, _) => out.array(0),
        (Some(_), Some(0)) => out.null_array(),
        (Some(st), count) => reply_entries(out, &st.range(start, end, rev, count.unwrap_or(0))),
    }
}

fn xlen(cx: &mut Cx, args: &[Bytes]) {
    if let Ok((st, out)) = read(cx, &args[1]) {
        out.int(st.map_or(0, |s| s.length) as i64);
    }
}
