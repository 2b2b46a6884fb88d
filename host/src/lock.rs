//! The lock that the host shares with the producer: an exclusive `flock`
//! on `job.txt` itself, which the existing service takes for every access.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;

/// An exclusive `flock` on `job.txt`, released on drop.
pub struct QueueLock {
    _file: File,
}

impl QueueLock {
    /// Waits up to `max_wait` for the lock on `queue_path`, on a blocking
    /// thread, so a wait never stalls the async runtime's workers.
    ///
    /// Returns `Ok(None)` when the file does not exist: the component then
    /// reports the missing queue, and nothing creates the file. Returns
    /// `Err(Timeout)` when the producer held the lock for all of `max_wait`.
    pub async fn acquire_within(
        queue_path: PathBuf,
        max_wait: Duration,
    ) -> anyhow::Result<Result<Option<QueueLock>, Timeout>> {
        let abandoned = Arc::new(AtomicBool::new(false));
        let task = tokio::task::spawn_blocking({
            let abandoned = abandoned.clone();
            move || {
                let lock = Self::acquire_blocking(&queue_path)?;
                // A lock that arrives after the caller gave up is released
                // at once, so the producer is not kept waiting.
                Ok(lock.filter(|_| !abandoned.load(Ordering::SeqCst)))
            }
        });
        match tokio::time::timeout(max_wait, task).await {
            Ok(joined) => joined.context("the lock task failed")?.map(Ok),
            Err(_) => {
                abandoned.store(true, Ordering::SeqCst);
                Ok(Err(Timeout))
            }
        }
    }

    /// Blocks until the lock on `queue_path` is held.
    pub fn acquire_blocking(queue_path: &Path) -> anyhow::Result<Option<QueueLock>> {
        let Some(file) = open(queue_path)? else {
            return Ok(None);
        };
        // `File::lock` is `flock(LOCK_EX)` on Linux, the call the producer
        // makes, so the two exclude each other.
        file.lock()
            .with_context(|| format!("failed to lock {}", queue_path.display()))?;
        Ok(Some(QueueLock { _file: file }))
    }
}

/// The producer held the lock for the whole wait.
#[derive(Debug)]
pub struct Timeout;

fn open(queue_path: &Path) -> anyhow::Result<Option<File>> {
    match File::open(queue_path) {
        Ok(file) => Ok(Some(file)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => {
            Err(error).with_context(|| format!("failed to open {}", queue_path.display()))
        }
    }
}
