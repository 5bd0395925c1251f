//! A node's simulated disk: named files whose bytes are durable only once fsynced, and whose
//! names (creations, renames, removals) are durable only once the directory is fsynced.
//! `crash()` models power loss: everything not durable disappears, except that a torn crash keeps
//! a prefix of the unsynced appends to the file appended to last (write-back reached the platter
//! in file order and stopped somewhere, possibly inside an append). `fail()` makes writes and/or fsyncs return an I/O
//! error until `heal()`; `wipe()` replaces it by an empty disk. The disk survives node restarts
//! because the harness, not the node, owns it.

use redsim::env::Disk;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::sync::Mutex;

/// Which disk operations a `disk-fail` fault breaks.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FailOp {
    /// `write` and `append`.
    Write,
    /// `fsync` of a file and of the directory.
    Fsync,
}

impl FailOp {
    pub fn word(self) -> &'static str {
        match self {
            FailOp::Write => "write",
            FailOp::Fsync => "fsync",
        }
    }
}

/// The error a broken operation returns.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DiskError {
    /// EIO.
    #[default]
    Io,
    /// ENOSPC.
    NoSpace,
}

impl DiskError {
    /// The error text, as strerror(3) words it.
    pub fn message(self) -> &'static str {
        match self {
            DiskError::Io => "Input/output error",
            DiskError::NoSpace => "No space left on device",
        }
    }

    fn to_io(self) -> io::Error {
        let kind = match self {
            DiskError::Io => io::ErrorKind::Other,
            DiskError::NoSpace => io::ErrorKind::StorageFull,
        };
        io::Error::new(kind, self.message())
    }
}

/// What a crash did to the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashOutcome {
    /// Unsynced bytes that are gone.
    pub lost_bytes: u64,
    /// For a torn crash: (bytes of the unsynced appends kept, their length).
    pub torn: Option<(u64, u64)>,
}

#[derive(Clone, Debug, Default)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
    /// Written (not only appended to) since the last fsync: nothing unsynced can survive a tear.
    rewritten: bool,
}

#[derive(Debug, Default)]
struct State {
    inodes: BTreeMap<u64, Inode>,
    names: BTreeMap<String, u64>,
    synced_names: BTreeMap<String, u64>,
    next_inode: u64,
    /// The file appended to last, while it has unsynced appends.
    last_appended: Option<u64>,
    /// Operations that fail now, and how.
    failing: Vec<FailOp>,
    fail_error: DiskError,
    /// Operations refused since the last `fail()`.
    failed_ops: u64,
}

#[derive(Debug, Default)]
pub struct SimDisk {
    state: Mutex<State>,
}

fn not_found(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{path}: No such file or directory"),
    )
}

impl SimDisk {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Power loss: unsynced bytes and unsynced directory changes are gone. With `torn =
    /// Some(r)` the unsynced appends to the file appended to last were being written back: a
    /// strict prefix of them survives, its length picked by `r` (drawn from the run's seed); it
    /// may end inside any of them, or keep none.
    pub fn crash(&self, torn: Option<u64>) -> CrashOutcome {
        self.with(|s| {
            // Files the program had removed for good before the crash lose nothing that counts.
            let seen: Vec<u64> = s
                .names
                .values()
                .chain(s.synced_names.values())
                .copied()
                .collect();
            s.names = s.synced_names.clone();
            let live: Vec<u64> = s.names.values().copied().collect();
            let tear = torn
                .zip(s.last_appended.take())
                .filter(|(_, ino)| live.contains(ino))
                .and_then(|(r, ino)| {
                    let inode = s.inodes.get(&ino)?;
                    let len = inode.data.len().checked_sub(inode.synced.len())?;
                    (!inode.rewritten && len > 0).then(|| {
                        let kept = r as usize % len;
                        (ino, inode.synced.len() + kept, (kept as u64, len as u64))
                    })
                });
            let mut out = CrashOutcome::default();
            for (ino, inode) in s.inodes.iter_mut().filter(|(ino, _)| seen.contains(ino)) {
                match tear {
                    Some((t, end, torn)) if t == *ino => {
                        out.lost_bytes += (inode.data.len() - end) as u64;
                        inode.data.truncate(end);
                        inode.synced = inode.data.clone();
                        out.torn = Some(torn);
                    }
                    _ => {
                        out.lost_bytes += inode.data.len().abs_diff(inode.synced.len()) as u64;
                        inode.data = inode.synced.clone();
                    }
                }
                inode.rewritten = false;
            }
            s.inodes.retain(|ino, _| live.contains(ino));
            out
        })
    }

    /// From now on the `ops` fail with `error`, until `heal`.
    pub fn fail(&self, ops: &[FailOp], error: DiskError) {
        self.with(|s| {
            s.failing = ops.to_vec();
            s.fail_error = error;
            s.failed_ops = 0;
        })
    }

    /// Every operation works again; returns how many were refused since `fail`.
    pub fn heal(&self) -> u64 {
        self.with(|s| {
            s.failing.clear();
            std::mem::take(&mut s.failed_ops)
        })
    }

    /// The disk is replaced by an empty one (its failures stay); returns how many files are gone.
    pub fn wipe(&self) -> usize {
        self.with(|s| {
            let gone = s.names.len();
            (s.inodes, s.names, s.synced_names) = Default::default();
            s.last_appended = None;
            gone
        })
    }

    /// Names of the files that exist now.
    pub fn list(&self) -> Vec<String> {
        self.with(|s| s.names.keys().cloned().collect())
    }
}

impl State {
    /// The injected error if `op` is broken now.
    fn refuse(&mut self, op: FailOp) -> io::Result<()> {
        if self.failing.contains(&op) {
            self.failed_ops += 1;
            return Err(self.fail_error.to_io());
        }
        Ok(())
    }

    fn inode_of(&self, path: &str) -> io::Result<u64> {
        self.names.get(path).copied().ok_or_else(|| not_found(path))
    }
}

impl Disk for SimDisk {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.with(|s| Ok(s.inodes[&s.inode_of(path)?].data.clone()))
    }
    fn write(&self, path: &str, data: &[u8]) -> io::Result<()> {
        self.with(|s| {
            s.refuse(FailOp::Write)?;
            let ino = match s.names.get(path) {
                Some(&ino) => ino,
                None => {
                    s.next_inode += 1;
                    let ino = s.next_inode;
                    s.names.insert(path.to_string(), ino);
                    ino
                }
            };
            let inode = s.inodes.entry(ino).or_default();
            inode.data = data.to_vec();
            inode.rewritten = true;
            if s.last_appended == Some(ino) {
                s.last_appended = None;
            }
            Ok(())
        })
    }
    fn append(&self, path: &str, data: &[u8]) -> io::Result<()> {
        let exists = self.with(|s| s.names.contains_key(path));
        if !exists {
            return self.write(path, data);
        }
        self.with(|s| {
            s.refuse(FailOp::Write)?;
            let ino = s.inode_of(path)?;
            s.inodes
                .get_mut(&ino)
                .expect("named inode exists")
                .data
                .extend_from_slice(data);
            s.last_appended = Some(ino);
            Ok(())
        })
    }
    fn fsync(&self, path: &str) -> io::Result<()> {
        self.with(|s| {
            let ino = s.inode_of(path)?;
            s.refuse(FailOp::Fsync)?;
            let inode = s.inodes.get_mut(&ino).expect("named inode exists");
            inode.synced = inode.data.clone();
            inode.rewritten = false;
            if s.last_appended == Some(ino) {
                s.last_appended = None;
            }
            Ok(())
        })
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.with(|s| {
            let ino = s.names.remove(from).ok_or_else(|| not_found(from))?;
            s.names.insert(to.to_string(), ino);
            Ok(())
        })
    }
    fn remove(&self, path: &str) -> io::Result<()> {
        self.with(|s| {
            s.names
                .remove(path)
                .map(|_| ())
                .ok_or_else(|| not_found(path))
        })
    }
    fn create_dir(&self, _path: &str) -> io::Result<()> {
        // Names are whole paths on this flat disk: directories need no entry.
        Ok(())
    }
    fn fsync_dir(&self, _path: &str) -> io::Result<()> {
        // One directory per node: syncing it makes the whole namespace durable.
        self.with(|s| {
            s.refuse(FailOp::Fsync)?;
            s.synced_names = s.names.clone();
            let live: Vec<u64> = s.names.values().copied().collect();
            for ino in live {
                // A file first named now keeps only the bytes it had synced.
                s.inodes.entry(ino).or_default();
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redsim::env::write_atomic;

    #[test]
    fn crash_drops_unsynced_bytes_and_names() {
        let d = SimDisk::default();
        d.write("a", b"hello").unwrap();
        d.fsync("a").unwrap();
        d.fsync_dir("a").unwrap();
        d.append("a", b" world").unwrap();
        d.write("b", b"never synced").unwrap();
        assert_eq!(d.read("a").unwrap(), b"hello world");
        assert_eq!(d.crash(None).lost_bytes, 6 + 12);
        assert_eq!(d.read("a").unwrap(), b"hello");
        assert!(d.read("b").is_err(), "a name never made durable is gone");
        d.write("c", b"gone").unwrap();
        d.remove("c").unwrap();
        d.fsync_dir("c").unwrap();
        assert_eq!(d.crash(None).lost_bytes, 0, "a removed file loses nothing");
    }

    #[test]
    fn atomic_replace_leaves_old_or_new_content() {
        let d = SimDisk::default();
        write_atomic(&d, "dump.rdb", b"v1").unwrap();
        d.write("dump.rdb.tmp-redsim", b"v2-partial").unwrap();
        d.crash(None);
        assert_eq!(d.read("dump.rdb").unwrap(), b"v1");
        write_atomic(&d, "dump.rdb", b"v2").unwrap();
        d.crash(None);
        assert_eq!(d.read("dump.rdb").unwrap(), b"v2");
        assert_eq!(d.list(), vec!["dump.rdb".to_string()]);
    }

    fn synced_file(d: &SimDisk, path: &str, data: &[u8]) {
        d.write(path, data).unwrap();
        d.fsync(path).unwrap();
        d.fsync_dir(path).unwrap();
    }

    #[test]
    fn a_torn_crash_keeps_a_strict_prefix_of_the_unsynced_appends_cut_anywhere() {
        let d = SimDisk::default();
        synced_file(&d, "aof", b"synced|");
        d.append("aof", b"first|").unwrap();
        d.append("aof", b"0123456789").unwrap();
        let out = d.crash(Some(10));
        // 10 % 16 = 10 of the 16 unsynced bytes made it: the cut falls inside the second append.
        assert_eq!(out.torn, Some((10, 16)));
        assert_eq!(out.lost_bytes, 6);
        assert_eq!(d.read("aof").unwrap(), b"synced|first|0123");
        assert_eq!(
            d.crash(Some(3)),
            CrashOutcome::default(),
            "torn bytes are durable now"
        );
        d.append("aof", b"x|").unwrap();
        d.append("aof", b"y|").unwrap();
        assert_eq!(d.crash(Some(4)).torn, Some((0, 4)), "a cut may keep none");
        assert_eq!(d.read("aof").unwrap(), b"synced|first|0123");
    }

    #[test]
    fn a_torn_crash_tears_nothing_once_synced_rewritten_or_never_named() {
        let d = SimDisk::default();
        synced_file(&d, "aof", b"a");
        d.append("aof", b"bcd").unwrap();
        d.fsync("aof").unwrap();
        assert_eq!(d.crash(Some(1)).torn, None);
        d.write("aof", b"rewritten").unwrap();
        d.append("aof", b"+more").unwrap();
        assert_eq!(d.crash(Some(1)).torn, None, "a rewrite is not an append");
        assert_eq!(d.read("aof").unwrap(), b"abcd");
        d.write("new", b"x").unwrap();
        d.append("new", b"yz").unwrap();
        assert_eq!(d.crash(Some(1)).torn, None);
        assert!(d.read("new").is_err());
        assert_eq!(d.read("aof").unwrap(), b"abcd");
    }

    #[test]
    fn failing_writes_and_fsyncs_return_the_injected_error_until_healed() {
        let d = SimDisk::default();
        synced_file(&d, "f", b"old");
        d.fail(&[FailOp::Write], DiskError::NoSpace);
        let e = d.append("f", b"more").unwrap_err();
        assert_eq!(e.to_string(), "No space left on device");
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(d.write("g", b"x").is_err());
        d.fsync("f").expect("fsync still works");
        d.fail(&[FailOp::Fsync], DiskError::Io);
        d.append("f", b"+new").unwrap();
        assert_eq!(d.fsync("f").unwrap_err().to_string(), "Input/output error");
        assert!(d.fsync_dir("f").is_err());
        assert_eq!(d.heal(), 2);
        assert_eq!(d.crash(None).lost_bytes, 4, "the unsynced append is lost");
        assert_eq!(d.read("f").unwrap(), b"old");
        assert_eq!(d.heal(), 0);
    }

    #[test]
    fn a_wiped_disk_has_no_files_left_even_synced_ones() {
        let d = SimDisk::default();
        synced_file(&d, "appendonly.aof", b"data");
        d.write("tmp", b"x").unwrap();
        assert_eq!(d.wipe(), 2);
        assert!(d.list().is_empty());
        assert!(d.read("appendonly.aof").is_err());
        assert_eq!(d.crash(Some(1)), CrashOutcome::default());
    }
}
