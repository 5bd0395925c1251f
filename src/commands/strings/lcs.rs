//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common subsequence of
//! two strings (missing keys are empty), its length, or the matching ranges.
//!
//! The classic dynamic-programming table is built in full, so like Redis the command refuses
//! inputs whose table (4 bytes a cell) would exceed 512 MB, Redis' default proto-max-bulk-len.

use crate::commands::{int_arg, is, Cx};
use crate::db::Value;
use bytes::Bytes;

const MAX_TABLE_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Default)]
struct Options {
    len: bool,
    idx: bool,
    min_match: u64,
    with_match_len: bool,
}

pub(in crate::commands) fn lcs(cx: &mut Cx, args: &[Bytes]) {
    let (a, b) = (input(cx, &args[1]), input(cx, &args[2]));
    let (Some(a), Some(b)) = (a, b) else {
        return cx
            .out
            .error("ERR The specified keys must contain string values");
    };
    let Some(o) = options(cx, &args[3..]) else {
        return;
    };
    if o.len && o.idx {
        return cx
            .out
            .error("ERR If you want both the length and indexes, please just use IDX.");
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > MAX_TABLE_BYTES {
        return cx
            .out
            .error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let table = Table::build(&a, &b);
    let total = table.at(a.len(), b.len());
    if o.len {
        return cx.out.int(total as i64);
    }
    let (common, ranges) = table.walk(&a, &b);
    if !o.idx {
        return cx.out.bulk(&common);
    }
    let shown: Vec<&Range> = ranges.iter().filter(|r| r.len() >= o.min_match).collect();
    cx.out.array(4);
    cx.out.bulk(b"matches");
    cx.out.array(shown.len());
    for r in shown {
        cx.out.array(if o.with_match_len { 3 } else { 2 });
        for (start, end) in [(r.a_start, r.a_end), (r.b_start, r.b_end)] {
            cx.out.array(2);
            cx.out.int(start as i64);
            cx.out.int(end as i64);
        }
        if o.with_match_len {
            cx.out.int(r.len() as i64);
        }
    }
    cx.out.bulk(b"len");
    cx.out.int(total as i64);
}

/// A string input (missing = empty); `None` for another type.
fn input(cx: &mut Cx, key: &[u8]) -> Option<Bytes> {
    match cx.read(key).map(|e| &e.value) {
        None => Some(Bytes::new()),
        Some(Value::Str(s)) => Some(s.to_bytes()),
        Some(_) => None,
    }
}

fn options(cx: &mut Cx, words: &[Bytes]) -> Option<Options> {
    let mut o = Options::default();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if is(w, "idx") {
            o.idx = true;
        } else if is(w, "len") {
            o.len = true;
        } else if is(w, "withmatchlen") {
            o.with_match_len = true;
        } else if is(w, "minmatchlen") && i + 1 < words.len() {
            o.min_match = int_arg(&mut cx.out, &words[i + 1])?.max(0) as u64;
            i += 1;
        } else {
            cx.syntax_error();
            return None;
        }
        i += 1;
    }
    Some(o)
}

/// `cells[i][j]` = the LCS length of `a[..i]` and `b[..j]`, row by row.
struct Table {
    cells: Vec<u32>,
    width: usize,
}

/// One matching run, inclusive positions in both strings (found from the end backwards).
struct Range {
    a_start: usize,
    a_end: usize,
    b_start: usize,
    b_end: usize,
}

impl Range {
    fn len(&self) -> u64 {
        (self.a_end - self.a_start + 1) as u64
    }
}

impl Table {
    fn build(a: &[u8], b: &[u8]) -> Self {
        let width = b.len() + 1;
        let mut t = Table {
            cells: vec![0; (a.len() + 1) * width],
            width,
        };
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t.cells[i * width + j] = if a[i - 1] == b[j - 1] {
                    t.at(i - 1, j - 1) + 1
                } else {
                    t.at(i - 1, j).max(t.at(i, j - 1))
                };
            }
        }
        t
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    /// Walks back from the end: the common subsequence and its runs, last run first.
    fn walk(&self, a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<Range>) {
        let mut common = Vec::with_capacity(self.at(a.len(), b.len()) as usize);
        let mut ranges = Vec::new();
        let mut run: Option<Range> = None;
        let (mut i, mut j) = (a.len(), b.len());
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                common.push(a[i - 1]);
                let r = match run.take() {
                    Some(mut r) if r.a_start == i && r.b_start == j => {
                        r.a_start -= 1;
                        r.b_start -= 1;
                        r
                    }
                    Some(r) => {
                        ranges.push(r);
                        Range {
                            a_start: i - 1,
                            a_end: i - 1,
                            b_start: j - 1,
                            b_end: j - 1,
                        }
                    }
                    None => Range {
                        a_start: i - 1,
                        a_end: i - 1,
                        b_start: j - 1,
                        b_end: j - 1,
                    },
                };
                if r.a_start == 0 || r.b_start == 0 {
                    ranges.push(r);
                } else {
                    run = Some(r);
                }
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                ranges.extend(run.take());
            }
        }
        common.reverse();
        (common, ranges)
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testing::{bulk, err, int, TestServer};
    use crate::resp::Frame;

    fn ohmytext() -> TestServer {
        let mut t = TestServer::new();
        t.cmd(&["mset", "a", "ohmytext", "b", "mynewtext"]);
        t
    }

    #[test]
    fn lcs_replies_the_common_subsequence_or_its_length() {
        let mut t = ohmytext();
        assert_eq!(t.cmd(&["lcs", "a", "b"]), bulk("mytext"));
        assert_eq!(t.cmd(&["lcs", "a", "b", "len"]), int(6));
        assert_eq!(t.cmd(&["lcs", "a", "missing"]), bulk(""));
    }

    #[test]
    fn lcs_idx_lists_matching_ranges_last_first() {
        let mut t = ohmytext();
        let range = |a: [i64; 2], b: [i64; 2], len: Option<i64>| {
            let pair = |p: [i64; 2]| Frame::Array(vec![int(p[0]), int(p[1])]);
            let mut items = vec![pair(a), pair(b)];
            items.extend(len.map(int));
            Frame::Array(items)
        };
        assert_eq!(
            t.cmd(&["lcs", "a", "b", "idx", "minmatchlen", "4", "withmatchlen"]),
            Frame::Array(vec![
                bulk("matches"),
                Frame::Array(vec![range([4, 7], [5, 8], Some(4))]),
                bulk("len"),
                int(6),
            ])
        );
        assert_eq!(
            t.cmd(&["lcs", "a", "b", "idx"]),
            Frame::Array(vec![
                bulk("matches"),
                Frame::Array(vec![
                    range([4, 7], [5, 8], None),
                    range([2, 3], [0, 1], None)
                ]),
                bulk("len"),
                int(6),
            ])
        );
    }

    #[test]
    fn lcs_refuses_other_types_and_mixed_options() {
        let mut t = ohmytext();
        t.cmd(&["rpush", "l", "x"]);
        assert_eq!(
            t.cmd(&["lcs", "a", "l"]),
            err("ERR The specified keys must contain string values")
        );
        assert_eq!(
            t.cmd(&["lcs", "a", "b", "len", "idx"]),
            err("ERR If you want both the length and indexes, please just use IDX.")
        );
        assert_eq!(t.cmd(&["lcs", "a", "b", "foo"]), err("ERR syntax error"));
        assert_eq!(
            t.cmd(&["lcs", "a", "b", "minmatchlen"]),
            err("ERR syntax error")
        );
    }
}
