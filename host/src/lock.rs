//! The lock that the host shares with the producer: an exclusive `flock`
//! on `job.txt` itself, which the existing service takes for every access.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// An exclusive `flock` on `job.txt`, released on drop.
pub struct QueueLock {
    _file: File,
}

impl QueueLock {
    /// Waits for the lock on `queue_path` on a blocking thread, so a wait
    /// never stalls the async runtime's workers.
    ///
    /// Returns `None` when the file does not exist: the component then
    /// reports the missing queue, and nothing creates the file.
    pub async fn acquire(queue_path: PathBuf) -> anyhow::Result<Option<QueueLock>> {
        tokio::task::spawn_blocking(move || Self::acquire_blocking(&queue_path))
            .await
            .context("the lock task failed")?
    }

    /// Blocks until the lock on `queue_path` is held.
    pub fn acquire_blocking(queue_path: &Path) -> anyhow::Result<Option<QueueLock>> {
        let file = match File::open(queue_path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("failed to open {}", queue_path.display()));
            }
        };
        // `File::lock` is `flock(LOCK_EX)` on Linux, the call the producer
        // makes, so the two exclude each other.
        file.lock()
            .with_context(|| format!("failed to lock {}", queue_path.display()))?;
        Ok(Some(QueueLock { _file: file }))
    }
}
