//! A lock file that keeps two component instances from rewriting
//! `job.txt` at once.
//!
//! A WASI guest cannot call `flock`, and Spin, `wasmtime serve` and jco
//! run instances side by side with no host lock. So a delete first creates
//! `VIDEO_DIR/.video-delete.lock` with exclusive create, which only one
//! instance can win, and removes it when done. The holder refreshes the
//! file's modification time while it works; a lock left untouched for
//! [`STALE_AFTER`] belongs to a holder that died, and the next delete takes
//! it over.

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher as _, RandomState};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::DeleteError;

/// Name of the lock file inside the queue directory.
pub const LOCK_FILE: &str = ".video-delete.lock";

/// How long a delete waits for the lock before it gives up.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// Age after which a lock counts as left by a holder that died.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// How often a holder refreshes its lock, well inside [`STALE_AFTER`].
const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// A held lock file, removed on drop.
pub struct QueueLock {
    file: File,
    path: PathBuf,
    token: String,
    refreshed: Instant,
}

/// Why the lock file could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another holder kept it for longer than [`MAX_WAIT`].
    Busy(DeleteError),
    /// The lock file cannot be created, so the queue directory cannot be
    /// written: it is read-only, not writable by this host, or full.
    Unwritable(io::Error),
}

impl QueueLock {
    /// Creates the lock file, waiting up to [`MAX_WAIT`] for another holder
    /// and taking over a stale one.
    ///
    /// `host_holds_flock` says that the host holds the producer's `flock` on
    /// `job.txt` around this call. Another holder of the lock file then
    /// cannot be alive, because it would hold that `flock` too, so an
    /// existing lock file is taken over at once.
    pub fn acquire(dir: &Path, host_holds_flock: bool) -> Result<QueueLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let token = format!("{:016x}", RandomState::new().hash_one(SystemTime::now()));
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    if let Err(error) = file.write_all(token.as_bytes()) {
                        // An empty lock file would block every later delete.
                        drop(file);
                        let _ = std::fs::remove_file(&path);
                        return Err(LockError::Unwritable(error));
                    }
                    return Ok(QueueLock {
                        file,
                        path,
                        token,
                        refreshed: Instant::now(),
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(LockError::Unwritable(error)),
            }
            let stale_after = if host_holds_flock {
                Duration::ZERO
            } else {
                STALE_AFTER
            };
            if take_over_if_stale(&path, &token, stale_after) {
                continue;
            }
            if started.elapsed() >= MAX_WAIT {
                return Err(LockError::Busy(DeleteError::Locked {
                    lock_file: path.display().to_string(),
                    seconds: MAX_WAIT.as_secs(),
                }));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Refreshes the lock's modification time if it is due, so a long
    /// delete is not taken for a dead one.
    pub fn refresh(&mut self) {
        if self.refreshed.elapsed() < REFRESH_EVERY {
            return;
        }
        // A failed refresh only risks a takeover after STALE_AFTER, which the
        // holder's own release then notices.
        let _ = self.file.set_modified(SystemTime::now());
        self.refreshed = Instant::now();
    }
}

impl Drop for QueueLock {
    fn drop(&mut self) {
        // Remove the file only if it is still ours; after a takeover it
        // belongs to the new holder.
        if read_token(&self.path).as_deref() == Some(self.token.as_str()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Moves a stale lock out of the way. Renaming it to a name of our own is
/// atomic, so of several instances that find the same stale lock only one
/// removes it.
fn take_over_if_stale(path: &Path, token: &str, stale_after: Duration) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        // Released between our attempt and now: try again at once.
        return true;
    };
    let age = metadata
        .modified()
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .unwrap_or_default();
    if age < stale_after {
        return false;
    }
    let aside = path.with_extension(format!("lock.stale-{token}"));
    if std::fs::rename(path, &aside).is_ok() {
        let _ = std::fs::remove_file(&aside);
    }
    true
}

fn read_token(path: &Path) -> Option<String> {
    let mut token = String::new();
    File::open(path).ok()?.read_to_string(&mut token).ok()?;
    Some(token)
}
