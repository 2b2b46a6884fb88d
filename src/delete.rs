//! The delete operation on a queue directory: find the job in `job.txt`,
//! remove its lines in place, then remove its folder.
//!
//! `job.txt` is rewritten in place and keeps its inode, because the
//! producer locks the file itself (`flock`) and reopens it by path for every
//! access: a file renamed over it would let an append that already opened
//! the old inode write into an unlinked file. Only the bytes from the first
//! removed line onward move, so the cost tracks the tail of the file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::Serialize;

use crate::job_file::{Found, MAX_LINE_BYTES, Scanner};
use crate::journal::{self, Header, JOURNAL_FILE, Journal, Recovery, RecoveryError};
use crate::queue_lock::{LOCK_FILE, LockError, QueueLock};
use crate::{Config, DeleteError};

/// Name of the queue file inside the queue directory.
pub const QUEUE_FILE: &str = "job.txt";

/// Directory of empty files named by the ids whose folders a delete could
/// not remove completely; the next delete retries them.
pub const PENDING_DIR: &str = ".video-delete.pending";

/// Prefix of every file the component keeps in the queue directory; no job
/// id may start with it.
const RESERVED_PREFIX: &str = ".video-delete";

/// Lines between two calls of a scan's progress callback.
const PROGRESS_EVERY_LINES: u64 = 4096;

/// Bytes read at a time while scanning.
const READ_BUFFER: usize = 64 * 1024;

/// The maximum id length in bytes, the maximum file name length of common
/// file systems.
const MAX_ID_BYTES: usize = 255;

/// The body of a successful delete, with the fields the existing service
/// returns plus `object` and `deleted`, which the OpenAI SDK's
/// `VideoDeleteResponse` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletedJob {
    pub id: String,
    pub model: String,
    pub status: String,
    pub progress: u32,
    pub created_at: i64,
    pub seconds: String,
    pub duration: i64,
    pub estimated_time: u32,
    pub queue_length: u32,
    pub error: String,
    pub object: String,
    pub deleted: bool,
}

/// Deletes the job `id` from the queue directory of `config`.
///
/// Every line of the id is removed and every other byte of `job.txt` stays
/// as it was; then the folder `{video_dir}/{id}` is removed, links removed as
/// links and never followed. Nothing changes when the delete fails, except
/// for a folder that could not be removed completely, which is reported
/// after its line is already gone and removed by the next recovery.
pub fn delete_video(config: &Config, id: &str) -> Result<DeletedJob, DeleteError> {
    if !is_valid_id(id) {
        return Err(DeleteError::NotFound { id: id.to_string() });
    }
    let dir = &config.video_dir;
    let queue_path = dir.join(QUEUE_FILE);
    if !queue_path.exists() {
        return Err(DeleteError::QueueMissing { id: id.to_string() });
    }
    let mut lock = match QueueLock::acquire(dir, config.host_holds_flock) {
        Ok(lock) => lock,
        Err(LockError::Busy(error)) => return Err(error),
        Err(LockError::Unwritable(error)) => return look_up_unwritable(config, id, &error),
    };
    recover_locked(config, &mut lock)?;

    let mut file = open_queue(&queue_path, id, OpenMode::ReadWrite)?;
    let found = scan(&file, &queue_path, id, &config.separator, &mut || {
        lock.refresh()
    })?;

    let header = Header {
        id: id.to_string(),
        file_len: file
            .metadata()
            .map_err(|error| io_error("failed to inspect", &queue_path, error))?
            .len(),
        spans: found.spans.clone(),
    };
    let journal_path = dir.join(JOURNAL_FILE);
    let mut journal = Journal::create(dir, header, config.durability)
        .map_err(|error| io_error("failed to create journal", &journal_path, error))?;
    let first = found.spans[0].start;
    journal::shift_and_truncate(&mut journal, &mut file, first, first, &mut || {
        lock.refresh()
    })
    .map_err(|error| io_error("failed to rewrite", &queue_path, error))?;
    drop(file);
    finish_folder(dir, journal)?;

    Ok(DeletedJob {
        id: id.to_string(),
        model: config.model.clone(),
        status: "deleted".to_string(),
        progress: 0,
        created_at: found.job.created_at,
        seconds: found.job.seconds,
        duration: found.job.duration,
        estimated_time: 0,
        queue_length: 0,
        error: String::new(),
        object: "video.deleted".to_string(),
        deleted: true,
    })
}

/// Finishes a delete that a crash interrupted, if there is one, and returns
/// the id of its job. Takes the lock file like a delete.
pub fn recover(config: &Config) -> Result<Option<String>, DeleteError> {
    let dir = &config.video_dir;
    let leftovers = [JOURNAL_FILE, PENDING_DIR, LOCK_FILE];
    if !leftovers.iter().any(|name| dir.join(name).exists()) {
        return Ok(None);
    }
    let mut lock = match QueueLock::acquire(dir, config.host_holds_flock) {
        Ok(lock) => lock,
        Err(LockError::Busy(error)) => return Err(error),
        Err(LockError::Unwritable(error)) => {
            return Err(io_error("failed to create lock file in", dir, error));
        }
    };
    recover_locked(config, &mut lock)
}

fn recover_locked(config: &Config, lock: &mut QueueLock) -> Result<Option<String>, DeleteError> {
    let dir = &config.video_dir;
    let journal_path = dir.join(JOURNAL_FILE);
    let recovered = journal::recover(dir, &dir.join(QUEUE_FILE), config.durability, &mut || {
        lock.refresh()
    });
    retry_pending_folders(dir);
    match recovered {
        Ok(Recovery::Clean) => Ok(None),
        Ok(Recovery::RolledBack { id }) => Ok(Some(id)),
        Ok(Recovery::FolderPending(journal)) => {
            let id = journal.header.id.clone();
            // The folder of the recovered job may fail to go like any
            // other; it is then noted and retried, and this request goes on.
            let _ = finish_folder(dir, journal);
            Ok(Some(id))
        }
        Err(RecoveryError::Io(error)) => Err(io_error(
            "failed to finish an interrupted delete with",
            &journal_path,
            error,
        )),
        Err(RecoveryError::Changed { id }) => Err(DeleteError::internal(format!(
            "an interrupted delete of {id} cannot be finished because job.txt changed after it; \
             check job.txt by hand, then remove {}",
            journal_path.display()
        ))),
    }
}

/// Removes the job folder of a journaled delete, then the journal.
///
/// A folder that cannot be removed completely is noted in
/// [`PENDING_DIR`] before the journal goes, so the next delete tries again
/// while other deletes go on.
fn finish_folder(dir: &Path, journal: Journal) -> Result<(), DeleteError> {
    let id = journal.header.id.clone();
    let removed = remove_job_folder(&dir.join(&id));
    if removed.is_err() {
        note_pending_folder(dir, &id)?;
    }
    journal
        .remove()
        .map_err(|error| io_error("failed to remove journal", &dir.join(JOURNAL_FILE), error))?;
    removed
}

/// Records that the folder of `id` still has to be removed.
fn note_pending_folder(dir: &Path, id: &str) -> Result<(), DeleteError> {
    let pending = dir.join(PENDING_DIR);
    let marker = pending.join(id);
    std::fs::create_dir_all(&pending)
        .and_then(|()| File::create(&marker))
        .and_then(|file| file.sync_all())
        .map_err(|error| io_error("failed to note a pending folder removal in", &marker, error))
}

/// Retries the folder removals noted in [`PENDING_DIR`]. A folder that
/// still cannot be removed stays noted and does not fail the request.
fn retry_pending_folders(dir: &Path) {
    let pending = dir.join(PENDING_DIR);
    let Ok(entries) = std::fs::read_dir(&pending) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(id) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if is_valid_id(&id) && remove_job_folder(&dir.join(&id)).is_ok() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    // Succeeds only once no removal is pending.
    let _ = std::fs::remove_dir(&pending);
}

/// Whether `id` can name exactly one job folder of the queue directory:
/// one directory entry, and none of the files the queue itself uses.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id != QUEUE_FILE
        && !id.starts_with(RESERVED_PREFIX)
        && id.len() <= MAX_ID_BYTES
        && !id
            .chars()
            .any(|c| c == '/' || c == '\\' || c == '\0' || c.is_control())
}

/// The access mode that `job.txt` is opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenMode {
    ReadOnly,
    ReadWrite,
}

fn open_queue(path: &Path, id: &str, mode: OpenMode) -> Result<File, DeleteError> {
    let opened = OpenOptions::new()
        .read(true)
        .write(mode == OpenMode::ReadWrite)
        .open(path);
    match opened {
        Ok(file) => Ok(file),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(DeleteError::QueueMissing { id: id.to_string() })
        }
        Err(error) => Err(io_error("failed to open", path, error)),
    }
}

/// Handles a delete in a queue directory that cannot be written: a lookup
/// still gets its 404 or 400, and a job that exists gets a 500 naming the
/// cause. No other instance can change the queue meanwhile, since none can
/// create the lock file either.
fn look_up_unwritable(
    config: &Config,
    id: &str,
    cause: &io::Error,
) -> Result<DeletedJob, DeleteError> {
    let queue_path = config.video_dir.join(QUEUE_FILE);
    let file = open_queue(&queue_path, id, OpenMode::ReadOnly)?;
    scan(&file, &queue_path, id, &config.separator, &mut || {})?;
    Err(DeleteError::internal(format!(
        "the queue directory {} cannot be written ({cause}), so it is read-only, not writable \
         by this host, or full; grant write access to it or free space",
        config.video_dir.display()
    )))
}

/// Reads `job.txt` once, line by line, and finds the target job.
/// `on_progress` runs every [`PROGRESS_EVERY_LINES`] lines, so a long scan
/// can keep its lock fresh.
fn scan(
    file: &File,
    path: &Path,
    id: &str,
    separator: &[u8],
    on_progress: &mut dyn FnMut(),
) -> Result<Found, DeleteError> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut scanner = Scanner::new(id, separator);
    let mut line = Vec::new();
    let mut offset = 0;
    let mut lines: u64 = 0;
    loop {
        let len = read_line_bounded(&mut reader, &mut line)
            .map_err(|error| io_error("failed to read", path, error))?;
        if len == 0 {
            break;
        }
        if len == line.len() as u64 {
            scanner.push(offset, &line);
        } else {
            scanner.push_long(len, &line);
        }
        offset += len;
        lines += 1;
        if lines.is_multiple_of(PROGRESS_EVERY_LINES) {
            on_progress();
        }
    }
    scanner.finish()
}

/// Reads the next line into `line`, keeping at most [`MAX_LINE_BYTES`] of
/// it so one huge line cannot grow memory, and returns its full length.
fn read_line_bounded(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<u64> {
    line.clear();
    let mut len = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(len);
        }
        let newline = available.iter().position(|byte| *byte == b'\n');
        let chunk = newline.map_or(available, |at| &available[..=at]);
        let keep = MAX_LINE_BYTES.saturating_sub(line.len()).min(chunk.len());
        line.extend_from_slice(&chunk[..keep]);
        let consumed = chunk.len();
        reader.consume(consumed);
        len += consumed as u64;
        if newline.is_some() {
            return Ok(len);
        }
    }
}

/// Removes the job folder: a directory recursively, a link or file as it
/// is. A missing folder is fine.
fn remove_job_folder(path: &Path) -> Result<(), DeleteError> {
    // A worker that adds files while the tree goes makes the last rmdir
    // fail; a few more passes catch up with it without looping forever.
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        let metadata = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(io_error("failed to inspect job folder", path, error)),
        };
        // `remove_dir_all` does not follow links inside the tree, and a link
        // in place of the folder is removed as a link so its target stays.
        let removed = if metadata.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        // An entry that vanishes mid-walk ends the walk with NotFound while
        // the folder may still be there, so only its absence counts.
        if is_gone(path) {
            return Ok(());
        }
        match removed {
            Ok(()) if attempt < ATTEMPTS => {}
            Err(error)
                if attempt < ATTEMPTS
                    && matches!(
                        error.kind(),
                        io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::NotFound
                    ) => {}
            Ok(()) => {
                return Err(DeleteError::internal(format!(
                    "removed the job from job.txt but job folder {} came back while it was \
                     removed; left in it: {}; the next delete retries it",
                    path.display(),
                    describe_entries(path)
                )));
            }
            Err(error) => {
                return Err(DeleteError::internal(format!(
                    "removed the job from job.txt but failed to remove job folder {}: {error}; \
                     left in it: {}; the next delete retries it",
                    path.display(),
                    describe_entries(path)
                )));
            }
        }
    }
    unreachable!("the last attempt always returns")
}

fn is_gone(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_err_and(|error| error.kind() == io::ErrorKind::NotFound)
}

/// Names up to five entries of a directory, for an error message.
fn describe_entries(path: &Path) -> String {
    const SHOWN: usize = 5;
    let Ok(entries) = std::fs::read_dir(path) else {
        return "nothing that can be listed".to_string();
    };
    let names: Vec<String> = entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    match names.len() {
        0 => "nothing".to_string(),
        count if count <= SHOWN => names.join(", "),
        count => format!("{} and {} more", names[..SHOWN].join(", "), count - SHOWN),
    }
}

fn io_error(action: &str, path: &Path, error: io::Error) -> DeleteError {
    let hint = match error.kind() {
        io::ErrorKind::ReadOnlyFilesystem => {
            "; the queue directory is read-only, so grant write access to it"
        }
        io::ErrorKind::PermissionDenied => "; check the permissions and attributes of that path",
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "; the disk is full, so free space on it"
        }
        _ => "",
    };
    DeleteError::internal(format!("{action} {}: {error}{hint}", path.display()))
}

#[cfg(test)]
mod tests;
