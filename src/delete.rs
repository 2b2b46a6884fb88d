//! The delete operation on a queue directory: find the job in `job.txt`,
//! remove its lines in place, then remove its folder.
//!
//! `job.txt` is rewritten in place and keeps its inode, because the
//! producer locks the file itself (`flock`) and reopens it by path for every
//! access: a file renamed over it would let an append that already opened
//! the old inode write into an unlinked file. Only the bytes from the first
//! removed line onward move, so the cost tracks the tail of the file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;

use serde::Serialize;

use crate::job_file::{Found, Scanner};
use crate::{Config, DeleteError};

/// Name of the queue file inside the queue directory.
pub const QUEUE_FILE: &str = "job.txt";

/// Bytes read or moved at a time.
const CHUNK_SIZE: usize = 64 * 1024;

/// The longest id that can be one directory entry on common file systems.
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
/// after its line is already gone.
pub fn delete_video(config: &Config, id: &str) -> Result<DeletedJob, DeleteError> {
    if !is_valid_id(id) {
        return Err(DeleteError::NotFound { id: id.to_string() });
    }
    let queue_path = config.video_dir.join(QUEUE_FILE);
    let (mut file, writable) = open_queue(&queue_path, id)?;

    let found = scan(&file, &queue_path, id, &config.separator)?;
    if !writable {
        return Err(DeleteError::internal(format!(
            "{} is read-only because the queue directory is read-only; \
             grant the host write access to it",
            queue_path.display()
        )));
    }
    remove_spans_in_place(&mut file, &found.spans)
        .map_err(|error| io_error("failed to rewrite", &queue_path, error))?;
    drop(file);

    remove_job_folder(&config.video_dir.join(id))?;

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

/// Whether `id` can name exactly one entry of the queue directory.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= MAX_ID_BYTES
        && !id
            .chars()
            .any(|c| c == '/' || c == '\\' || c == '\0' || c.is_control())
}

/// Opens `job.txt` read-write, or read-only when the directory cannot be
/// written, so a lookup that changes nothing still gets its 404 or 400.
/// The flag tells whether the file is writable.
fn open_queue(path: &Path, id: &str) -> Result<(File, bool), DeleteError> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => Ok((file, true)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(DeleteError::QueueMissing { id: id.to_string() })
        }
        Err(error) if is_read_only(&error) => File::open(path)
            .map(|file| (file, false))
            .map_err(|error| io_error("failed to open", path, error)),
        Err(error) => Err(io_error("failed to open", path, error)),
    }
}

fn is_read_only(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied
    )
}

/// Reads `job.txt` once, line by line, and finds the target job.
fn scan(file: &File, path: &Path, id: &str, separator: &[u8]) -> Result<Found, DeleteError> {
    let mut reader = BufReader::with_capacity(CHUNK_SIZE, file);
    let mut scanner = Scanner::new(id, separator);
    let mut line = Vec::new();
    let mut offset = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|error| io_error("failed to read", path, error))?;
        if read == 0 {
            break;
        }
        scanner.push(offset, &line);
        offset += read as u64;
    }
    scanner.finish()
}

/// Removes the byte `spans` from `file` by moving every later byte left,
/// then truncates and syncs it.
///
/// Reads always run ahead of writes, so a chunk is read before anything is
/// written over it.
fn remove_spans_in_place(file: &mut File, spans: &[Range<u64>]) -> io::Result<()> {
    let Some(first) = spans.first() else {
        return Ok(());
    };
    let end = file.seek(SeekFrom::End(0))?;
    let mut write_at = first.start;
    let mut buffer = vec![0; CHUNK_SIZE];

    let kept = spans
        .windows(2)
        .map(|pair| pair[0].end..pair[1].start)
        .chain(spans.last().map(|last| last.end..end));
    for region in kept {
        let mut read_at = region.start;
        while read_at < region.end {
            let len = CHUNK_SIZE.min((region.end - read_at) as usize);
            file.seek(SeekFrom::Start(read_at))?;
            file.read_exact(&mut buffer[..len])?;
            file.seek(SeekFrom::Start(write_at))?;
            file.write_all(&buffer[..len])?;
            read_at += len as u64;
            write_at += len as u64;
        }
    }

    file.set_len(write_at)?;
    // The delete is answered only after its new content is on disk.
    file.sync_all()
}

/// Removes the job folder: a directory recursively, a link or file as it
/// is. A missing folder is fine.
fn remove_job_folder(path: &Path) -> Result<(), DeleteError> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error("failed to inspect job folder", path, error)),
    };
    // `remove_dir_all` does not follow links inside the tree, and a link in
    // place of the folder is removed as a link so its target stays.
    let removed = if metadata.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match removed {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(
            "removed the job from job.txt but failed to remove job folder",
            path,
            error,
        )),
    }
}

fn io_error(action: &str, path: &Path, error: io::Error) -> DeleteError {
    let hint = if is_read_only(&error) {
        "; the queue directory is read-only, so grant write access to it"
    } else {
        ""
    };
    DeleteError::internal(format!("{action} {}: {error}{hint}", path.display()))
}

#[cfg(test)]
mod tests;
