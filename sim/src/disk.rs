//! A node's simulated disk: named files whose bytes are durable only once fsynced, and whose
//! names (creations, renames, removals) are durable only once the directory is fsynced.
//! `crash()` models power loss: everything not durable disappears. It survives node restarts
//! because the harness, not the node, owns it.

use redsim::env::Disk;
use std::collections::BTreeMap;
use std::io;
use std::sync::Mutex;

#[derive(Clone, Debug, Default)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    inodes: BTreeMap<u64, Inode>,
    names: BTreeMap<String, u64>,
    synced_names: BTreeMap<String, u64>,
    next_inode: u64,
    /// Bytes dropped by crashes so far (reported in traces).
    lost_bytes: u64,
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

    /// Power loss: unsynced bytes and unsynced directory changes are gone. Returns bytes lost.
    pub fn crash(&self) -> u64 {
        self.with(|s| {
            let mut lost = 0;
            s.names = s.synced_names.clone();
            for inode in s.inodes.values_mut() {
                lost += inode.data.len().abs_diff(inode.synced.len()) as u64;
                inode.data = inode.synced.clone();
            }
            let live: Vec<u64> = s.names.values().copied().collect();
            s.inodes.retain(|ino, _| live.contains(ino));
            s.lost_bytes += lost;
            lost
        })
    }

    /// Names of the files that exist now.
    pub fn list(&self) -> Vec<String> {
        self.with(|s| s.names.keys().cloned().collect())
    }
}

impl Disk for SimDisk {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.with(|s| {
            let ino = s.names.get(path).ok_or_else(|| not_found(path))?;
            Ok(s.inodes[ino].data.clone())
        })
    }
    fn write(&self, path: &str, data: &[u8]) -> io::Result<()> {
        self.with(|s| {
            let ino = match s.names.get(path) {
                Some(&ino) => ino,
                None => {
                    s.next_inode += 1;
                    let ino = s.next_inode;
                    s.names.insert(path.to_string(), ino);
                    ino
                }
            };
            s.inodes.entry(ino).or_default().data = data.to_vec();
            Ok(())
        })
    }
    fn append(&self, path: &str, data: &[u8]) -> io::Result<()> {
        let exists = self.with(|s| s.names.contains_key(path));
        if !exists {
            return self.write(path, data);
        }
        self.with(|s| {
            let ino = s.names[path];
            s.inodes
                .get_mut(&ino)
                .expect("named inode exists")
                .data
                .extend_from_slice(data);
            Ok(())
        })
    }
    fn fsync(&self, path: &str) -> io::Result<()> {
        self.with(|s| {
            let ino = *s.names.get(path).ok_or_else(|| not_found(path))?;
            let inode = s.inodes.get_mut(&ino).expect("named inode exists");
            inode.synced = inode.data.clone();
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
            s.synced_names = s.names.clone();
            let live: Vec<u64> = s.names.values().copied().collect();
            for ino in live {
                // A file first named now keeps only the bytes it had synced.
                s.inodes.entry(ino).or_default();
            }
        });
        Ok(())
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
        assert_eq!(d.crash(), 6 + 12);
        assert_eq!(d.read("a").unwrap(), b"hello");
        assert!(d.read("b").is_err(), "a name never made durable is gone");
    }

    #[test]
    fn atomic_replace_leaves_old_or_new_content() {
        let d = SimDisk::default();
        write_atomic(&d, "dump.rdb", b"v1").unwrap();
        d.write("dump.rdb.tmp-redsim", b"v2-partial").unwrap();
        d.crash();
        assert_eq!(d.read("dump.rdb").unwrap(), b"v1");
        write_atomic(&d, "dump.rdb", b"v2").unwrap();
        d.crash();
        assert_eq!(d.read("dump.rdb").unwrap(), b"v2");
        assert_eq!(d.list(), vec!["dump.rdb".to_string()]);
    }
}
