//! Key positions that depend on the arguments (Redis' "movablekeys" commands): the keys after a
//! `numkeys` argument, and SORT's STORE destination. COMMAND GETKEYS uses them.

use super::is;
use bytes::Bytes;

/// The `numkeys` keys that follow `args[at]`, or none when it is not a count that fits.
fn after_numkeys(args: &[Bytes], at: usize) -> Vec<usize> {
    let n = args
        .get(at)
        .and_then(|a| crate::resp::parse_i64(a))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n >= 1 && at + n < args.len());
    n.map_or_else(Vec::new, |n| (at + 1..=at + n).collect())
}

/// ZUNION, ZINTER, ZDIFF, ZINTERCARD, SINTERCARD, LMPOP, ZMPOP: `name numkeys key...`.
pub fn numkeys_first(args: &[Bytes]) -> Vec<usize> {
    after_numkeys(args, 1)
}

/// BLMPOP, BZMPOP: `name timeout numkeys key...`.
pub fn numkeys_second(args: &[Bytes]) -> Vec<usize> {
    after_numkeys(args, 2)
}

/// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE: `name dest numkeys key...`.
pub fn dest_then_numkeys(args: &[Bytes]) -> Vec<usize> {
    let keys = after_numkeys(args, 2);
    if keys.is_empty() {
        return keys;
    }
    [vec![1], keys].concat()
}

/// SORT_RO: only the sorted key (it has no STORE).
pub fn sort_ro(_args: &[Bytes]) -> Vec<usize> {
    vec![1]
}

/// SORT: the sorted key, then the last STORE's destination (LIMIT takes two values,
/// BY and GET one, as Redis skips them).
pub fn sort(args: &[Bytes]) -> Vec<usize> {
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "limit") {
            i += 2;
        } else if is(a, "get") || is(a, "by") {
            i += 1;
        } else if is(a, "store") && i + 1 < args.len() {
            store = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    std::iter::once(1).chain(store).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    }

    #[test]
    fn numkeys_commands_name_the_counted_keys() {
        assert_eq!(
            numkeys_first(&args(&["zunion", "2", "a", "b", "weights", "1", "2"])),
            vec![2, 3]
        );
        assert_eq!(
            numkeys_first(&args(&["zunion", "3", "a", "b"])),
            Vec::<usize>::new()
        );
        assert_eq!(
            dest_then_numkeys(&args(&["zunionstore", "d", "1", "a"])),
            vec![1, 3]
        );
    }

    #[test]
    fn sort_names_its_key_and_the_last_store() {
        let call = args(&[
            "sort", "abc", "store", "invalid", "store", "stillbad", "store", "def",
        ]);
        assert_eq!(sort(&call), vec![1, 7]);
        assert_eq!(
            sort(&args(&["sort", "abc", "get", "store", "limit", "1", "2"])),
            vec![1]
        );
    }
}
