//! One runner per state file.
//!
//! The lock is an OS advisory lock (`flock`) on `<state file>.lock`, held for the life of the
//! process. The kernel drops it when the process dies however it dies (kill -9, crash, reboot),
//! so a lock left by a killed runner is never stale: the next runner simply takes it. The file
//! also names its holder, so a second runner can say who has it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held while the runner runs; released on drop or process death.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another bys-campaign run is using {state}: {holder}\n  \
         hint: wait for it to finish, or stop it (Ctrl-C) first; `bys-campaign status` works meanwhile"
    )]
    Held { state: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Lock {
    /// Takes the lock for `state`, or says who holds it.
    pub fn acquire(state: &Path, started: jiff::Timestamp) -> Result<Lock, LockError> {
        let path = lock_path(state);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    state: state.to_owned(),
                    holder: if holder.is_empty() {
                        "a process that has just started".into()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let who = format!(
            "pid {} on {} since {started}",
            std::process::id(),
            host.trim().if_empty("this host")
        );
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(who.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        Ok(Lock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `campaign.state.db` → `campaign.state.db.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

trait IfEmpty {
    fn if_empty<'a>(&'a self, other: &'a str) -> &'a str;
}

impl IfEmpty for str {
    fn if_empty<'a>(&'a self, other: &'a str) -> &'a str {
        if self.is_empty() { other } else { self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_has_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("c.state.db");
        let now = jiff::Timestamp::UNIX_EPOCH;
        let first = Lock::acquire(&state, now).unwrap();
        match Lock::acquire(&state, now) {
            Err(LockError::Held { holder, .. }) => {
                assert!(
                    holder.starts_with(&format!("pid {} on ", std::process::id())),
                    "{holder}"
                );
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        Lock::acquire(&state, now).expect("free again once dropped");
    }
}
