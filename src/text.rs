//! Small text helpers shared by the protocol, the commands and the config file: Redis' argument
//! splitting (inline commands and redis.conf lines), glob matching (KEYS, CONFIG GET, PSUBSCRIBE),
//! and number parsing/formatting with Redis' rules.

/// Splits a line into arguments like Redis' `sdssplitargs`: spaces separate, `"..."` supports
/// `\n \r \t \b \a \\ \" \xHH`, `'...'` supports `\'`; a closing quote must be followed by a space
/// or the end. Returns `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            let c = line.get(i).copied();
            if in_dq {
                match c {
                    None => return None,
                    Some(b'\\')
                        if i + 3 < line.len()
                            && line[i + 1] == b'x'
                            && is_hex(line[i + 2])
                            && is_hex(line[i + 3]) =>
                    {
                        cur.push(hex_val(line[i + 2]) * 16 + hex_val(line[i + 3]));
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        cur.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(b) => cur.push(b),
                }
            } else if in_sq {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        cur.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(b) => cur.push(b),
                }
            } else {
                match c {
                    None => break,
                    // The same separators the skip loop above consumes, or this loop never advances.
                    Some(b) if b.is_ascii_whitespace() => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(b) => cur.push(b),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex_val(b: u8) -> u8 {
    (b as char).to_digit(16).unwrap_or(0) as u8
}

/// Quotes an argument for a config file or CLIENT LIST-like output when it needs it
/// (the inverse of `split_args`, like Redis' `sdscatrepr`).
pub fn quote_arg(arg: &[u8]) -> String {
    let plain = !arg.is_empty()
        && arg
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return String::from_utf8_lossy(arg).into_owned();
    }
    let mut s = String::from("\"");
    for &b in arg {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => s.push(b as char),
            b => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// Redis' `sdscatrepr`: always in double quotes, escaping what needs it.
pub fn repr_arg(arg: &[u8]) -> String {
    let q = quote_arg(arg);
    if q.starts_with('"') {
        q
    } else {
        format!("\"{q}\"")
    }
}

/// The sign and magnitude of a number read like C's strtol family: leading spaces, an optional
/// sign, then digits up to the first non-digit (none = 0); the magnitude saturates.
fn c_number(s: &str) -> (bool, u64) {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        });
    (negative, magnitude)
}

/// C's `atoi` as glibc has it: `strtol`, saturated to a long, then cut to an int.
pub fn atoi(s: &str) -> i32 {
    let (negative, magnitude) = c_number(s);
    let long = match (negative, i64::try_from(magnitude)) {
        (false, Ok(n)) => n,
        (false, Err(_)) => i64::MAX,
        (true, Ok(n)) => -n,
        (true, Err(_)) => i64::MIN,
    };
    long as i32
}

/// C's `strtoull`: a negative number wraps around, an overflow gives the maximum.
pub fn strtoull(s: &str) -> u64 {
    match c_number(s) {
        (_, u64::MAX) => u64::MAX,
        (true, n) => n.wrapping_neg(),
        (false, n) => n,
    }
}

/// Glob-style matching as Redis' `stringmatchlen`: `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    glob_at(pattern, s, nocase, 0, &mut false)
}

/// `give_up` is set once the pattern after some `*` matched no suffix of the string: then no
/// earlier `*` can help by matching more, so every caller stops (Redis' skipLongerMatches,
/// which keeps patterns like `*?*?*?...` linear).
fn glob_at(mut p: &[u8], mut s: &[u8], nocase: bool, depth: usize, give_up: &mut bool) -> bool {
    // Redis bounds recursion to protect against patterns like "a*a*a*a*...".
    if depth > 1000 {
        return false;
    }
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    while let Some(&pc) = p.first() {
        match pc {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if glob_at(&p[1..], &s[i..], nocase, depth + 1, give_up) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                }
                *give_up = true;
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                let Some(&c) = s.first() else { return false };
                let mut i = 1;
                let not = p.get(1) == Some(&b'^');
                if not {
                    i += 1;
                }
                let mut matched = false;
                while i < p.len() && p[i] != b']' {
                    if p[i] == b'\\' && i + 1 < p.len() {
                        i += 1;
                        matched |= eq(p[i], c);
                    } else if i + 2 < p.len() && p[i + 1] == b'-' {
                        let (mut lo, mut hi) = (p[i], p[i + 2]);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        let c2 = if nocase { c.to_ascii_lowercase() } else { c };
                        let (lo, hi) = if nocase {
                            (lo.to_ascii_lowercase(), hi.to_ascii_lowercase())
                        } else {
                            (lo, hi)
                        };
                        matched |= c2 >= lo && c2 <= hi;
                        i += 2;
                    } else {
                        matched |= eq(p[i], c);
                    }
                    i += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                p = if i < p.len() {
                    &p[i..]
                } else {
                    &p[p.len() - 1..]
                };
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if s.first().is_none_or(|&c| !eq(p[0], c)) {
                    return false;
                }
                s = &s[1..];
            }
            _ => {
                if s.first().is_none_or(|&c| !eq(pc, c)) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
    }
    s.is_empty()
}

/// Parses a float argument as Redis does (`strtold` accepting "inf", "-inf", "+inf"; no NaN, no
/// spaces). Returns `None` when Redis would say "value is not a valid float".
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?;
    if t.is_empty() || t.starts_with(char::is_whitespace) || t.ends_with(char::is_whitespace) {
        return None;
    }
    let v: f64 = match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => t.parse().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

/// Formats a double as Redis 7.2 replies it (`d2string`): `nan`, `inf`/`-inf`, `0`/`-0`, integers
/// up to 2^62 as integers, otherwise the shortest round-trip digits laid out like its
/// `fpconv_dtoa` (Redis' grisu2 is not always shortest: 1e23 prints as 9999999999999999e7 there).
pub fn fmt_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let limit = (i64::MAX / 2) as f64;
    if (-limit..=limit).contains(&d) && d == d.trunc() {
        return (d as i64).to_string();
    }
    let sci = format!("{:e}", d.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let digits = mantissa.replace('.', "");
    let exp10: i32 = exp.parse().expect("{:e} exponent");
    let sign = if d < 0.0 { "-" } else { "" };
    format!("{sign}{}", lay_out_digits(&digits, exp10))
}

/// `digits` (no dot) times 10^`exp10` (the first digit's power) as fpconv writes it: plain
/// integers and decimals while short, else `d.ddde±x`.
fn lay_out_digits(digits: &str, exp10: i32) -> String {
    let n = digits.len() as i32;
    // The power of ten of the last digit.
    let k = exp10 - (n - 1);
    let exp = exp10.abs();
    if k >= 0 && exp < n + 7 {
        return format!("{digits}{}", "0".repeat(k as usize));
    }
    if k < 0 && (k > -7 || exp < 4) {
        let int_len = n + k;
        return if int_len <= 0 {
            format!("0.{}{digits}", "0".repeat(-int_len as usize))
        } else {
            let (int, frac) = digits.split_at(int_len as usize);
            format!("{int}.{frac}")
        };
    }
    let (first, rest) = digits.split_at(1);
    let dot = if rest.is_empty() { "" } else { "." };
    let sign = if exp10 < 0 { '-' } else { '+' };
    format!("{first}{dot}{rest}e{sign}{exp}")
}

/// Parses a memory size as redis.conf does: `1gb`, `512mb`, `100k` (1000), `100kb` (1024), plain bytes.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let units: [(&str, i64); 8] = [
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
        ("", 1),
    ];
    for (suffix, mul) in units {
        if let Some(num) = lower.strip_suffix(suffix) {
            if num.is_empty() {
                return None;
            }
            return crate::resp::parse_i64(num.as_bytes())?.checked_mul(mul);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8(a).unwrap())
                .collect()
        })
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(
            split("set k v"),
            Some(vec!["set".into(), "k".into(), "v".into()])
        );
        assert_eq!(
            split(r#"replicaof "127.0.0.1 7000""#),
            Some(vec!["replicaof".into(), "127.0.0.1 7000".into()])
        );
        assert_eq!(
            split(r#"a "\x41\n" 'it\'s'"#),
            Some(vec!["a".into(), "A\n".into(), "it's".into()])
        );
        assert_eq!(split(r#"save """#), Some(vec!["save".into(), "".into()]));
        assert_eq!(split(r#""abc"def"#), None);
        assert_eq!(split(r#""abc"#), None);
        assert_eq!(split("   "), Some(vec![]));
        assert_eq!(
            split("a\0b c"),
            Some(vec!["a\0b".into(), "c".into()]),
            "NUL is an ordinary byte"
        );
        assert_eq!(split("a\x0cb"), Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn quoting_round_trips() {
        for s in ["plain", "with space", "q\"uote", "", "\x01bin\n"] {
            let q = quote_arg(s.as_bytes());
            assert_eq!(
                split_args(q.as_bytes()).unwrap(),
                vec![s.as_bytes().to_vec()],
                "{q}"
            );
        }
    }

    #[test]
    fn globs_match_like_redis() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"max-*-entries", b"max-listpack-entries", false));
        assert!(glob_match(b"PORT", b"port", true));
        assert!(glob_match(b"a\\*", b"a*", false));
        assert!(!glob_match(b"a\\*", b"ab", false));
        assert!(!glob_match(b"[", b"", false));
    }

    #[test]
    fn globs_with_many_stars_fail_fast_instead_of_backtracking() {
        let nested = [b"a*".repeat(20), b"b".to_vec()].concat();
        assert!(!glob_match(&nested, &[b'a'; 40], false));
        assert!(!glob_match(&b"*?".repeat(50_000), &[b'a'; 50_000], false));
        assert!(glob_match(b"a*b*c", b"axxbyyc", false));
        assert!(glob_match(b"*a*b", b"zzazzb", false));
    }

    #[test]
    fn doubles_format_like_redis() {
        assert_eq!(fmt_double(1.0), "1");
        assert_eq!(fmt_double(1.5), "1.5");
        assert_eq!(fmt_double(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(fmt_double(f64::NEG_INFINITY), "-inf");
        for (d, text) in [
            (1.5e-7, "1.5e-7"),
            (-1.5e-7, "-1.5e-7"),
            (1e17, "100000000000000000"),
            (4611686018427387904.0, "4611686018427387904"),
            (9.2e18, "9.2e+18"),
            (1e20, "1e+20"),
            (1.23456789e23, "1.23456789e+23"),
            (1005000000000.5, "1005000000000.5"),
            (0.0003, "0.0003"),
            (0.000001, "0.000001"),
            (1.2e-6, "1.2e-6"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-0.0, "-0"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(fmt_double(d), text, "{d:e}");
        }
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("100k"), Some(100_000));
        assert_eq!(parse_memory("512"), Some(512));
        assert_eq!(parse_memory("mb"), None);
    }
}
