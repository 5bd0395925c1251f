//! The AOF manifest: which base and incr files make up the append-only file, in loading order.

use crate::text::{quote_arg, split_args};

/// Manifest lines longer than this are a format error (Redis: 1024).
const MANIFEST_LINE_MAX: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: u64,
}

/// What the manifest names: the base file and the incr files in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    pub incrs: Vec<AofFile>,
}

impl Manifest {
    /// Parses a manifest (`file <name> seq <n> type <b|h|i>` per line; history lines ignored).
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for line in text.lines() {
            if line.len() > MANIFEST_LINE_MAX {
                return Err("The AOF manifest file contains too long line".into());
            }
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let args = split_args(line.as_bytes()).ok_or("Invalid AOF manifest file format")?;
            let args: Vec<String> = args
                .into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect();
            if !args.len().is_multiple_of(2) {
                return Err("Invalid AOF manifest file format".into());
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in args.chunks(2) {
                match pair[0].as_str() {
                    "file" => name = Some(pair[1].clone()),
                    "seq" => seq = pair[1].parse::<u64>().ok(),
                    "type" => kind = Some(pair[1].clone()),
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err("Invalid AOF manifest file format".into());
            };
            if name.contains('/') {
                return Err("File can't be a path, just a filename".into());
            }
            match kind.as_str() {
                "b" if m.base.is_none() => m.base = Some(AofFile { name, seq }),
                "b" => return Err("Found duplicate base file information".into()),
                "i" => {
                    if m.incrs.last().is_some_and(|l| l.seq >= seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incrs.push(AofFile { name, seq });
                }
                "h" => {}
                _ => return Err("Unknown AOF file type".into()),
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    pub fn format(&self) -> String {
        let line = |f: &AofFile, t: &str| {
            format!(
                "file {} seq {} type {t}\n",
                quote_arg(f.name.as_bytes()),
                f.seq
            )
        };
        let mut s = self.base.as_ref().map(|b| line(b, "b")).unwrap_or_default();
        for i in &self.incrs {
            s.push_str(&line(i, "i"));
        }
        s
    }

    /// Every file in loading order.
    pub fn files(&self) -> Vec<AofFile> {
        self.base.iter().chain(&self.incrs).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_and_rejects_garbage() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.format(), text);
        assert_eq!(m.files().len(), 2);
        assert!(Manifest::parse("").is_err());
        assert!(Manifest::parse("file a seq x type b\n").is_err());
        assert!(Manifest::parse("file ../a seq 1 type b\n").is_err());
        assert!(Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").is_err());
        assert!(Manifest::parse("file a seq 1 type h\nfile b seq 2 type i\n").is_ok());
    }
}
