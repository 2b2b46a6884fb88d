//! The journal that makes an in-place removal survive a crash.
//!
//! Removing lines from `job.txt` without renaming a new file over it means
//! moving the tail left inside the file. Each chunk written at its new
//! place overwrites bytes that may not have moved yet, so a crash in the
//! middle would lose them. Before each chunk is written in place, it goes to
//! a journal record in `VIDEO_DIR/.video-delete.journal`, synced; only then
//! is the chunk written in place and synced. After a crash, the newest valid
//! record tells how far the removal got, and its data restores the one
//! chunk that may be torn; the removal then runs to its end.
//!
//! The journal holds a header (the spans to remove, the file length, the
//! job id) and two record slots used in turn, so a torn record write leaves
//! the previous record intact and the journal never grows with the queue.
//! A record also marks the last two steps: the truncation of the file and
//! the removal of the job folder. The journal is removed last.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use codec::{decode_header, decode_record, encode_header, encode_record};

/// Name of the journal inside the queue directory.
pub const JOURNAL_FILE: &str = ".video-delete.journal";

/// Bytes moved per chunk, and so the data capacity of one record.
pub const CHUNK_SIZE: usize = 1 << 20;

const MAGIC: &[u8; 8] = b"VDJRNL01";

/// Bytes after a chunk whose checksum a record keeps, so recovery can tell
/// whether someone else rewrote `job.txt` after the crash.
const FINGERPRINT_LEN: u64 = 4096;

/// checksum, seq, phase, write_at, read_at, data length, fingerprint
/// length, fingerprint.
const RECORD_HEADER_LEN: usize = 4 + 8 + 1 + 8 + 8 + 4 + 4 + 4;

const SLOT_LEN: u64 = (RECORD_HEADER_LEN + CHUNK_SIZE) as u64;

/// The step an interrupted removal must still finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Moving the tail; the record carries the chunk written last.
    Shift = 1,
    /// The tail has moved; the file is being cut at `write_at`.
    Truncate = 2,
    /// `job.txt` is final; the job folder is being removed.
    Folder = 3,
}

/// One step of a removal, as written to a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    seq: u64,
    phase: Phase,
    write_at: u64,
    read_at: u64,
    /// Checksum of up to [`FINGERPRINT_LEN`] bytes of `job.txt` that the
    /// step leaves unmoved: after the chunk for `Shift`, at `write_at` for
    /// `Truncate`.
    fingerprint_len: u32,
    fingerprint: u32,
    data: Vec<u8>,
}

/// The subject of a removal, written once at the start of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub id: String,
    /// Length of `job.txt` when the removal started.
    pub file_len: u64,
    /// Byte spans of the target job's lines, sorted and disjoint.
    pub spans: Vec<Range<u64>>,
}

/// Whether each step is synced to disk before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the journal, `job.txt` and the directory at every step, so a
    /// power loss cannot reorder them.
    Sync,
    /// Leave write-back to the kernel. A killed process still loses
    /// nothing, because its writes are already in the page cache, but a
    /// power loss may.
    NoSync,
}

/// An open journal of one removal.
pub struct Journal {
    file: File,
    dir: PathBuf,
    seq: u64,
    slot_base: u64,
    durability: Durability,
    pub header: Header,
}

impl Journal {
    /// Creates the journal of a new removal and makes it durable before
    /// anything in `job.txt` changes.
    pub fn create(dir: &Path, header: Header, durability: Durability) -> io::Result<Journal> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dir.join(JOURNAL_FILE))?;
        let encoded = encode_header(&header);
        write_all_at(&mut file, 0, &encoded)?;
        let journal = Journal {
            file,
            dir: dir.to_path_buf(),
            seq: 0,
            slot_base: slot_base(encoded.len()),
            durability,
            header,
        };
        journal.sync_file()?;
        // The journal's directory entry must be on disk before the first
        // in-place write, or a power loss could lose the journal but keep
        // the write.
        journal.sync_dir()?;
        Ok(journal)
    }

    /// Opens the journal left by an interrupted removal, if there is one.
    /// Returns `Ok(None)` when there is none or its header never became
    /// complete, in which case nothing in `job.txt` had changed.
    fn open(dir: &Path, durability: Durability) -> io::Result<Option<(Journal, Option<Record>)>> {
        let path = dir.join(JOURNAL_FILE);
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let Some((header, header_len)) = decode_header(&bytes) else {
            return Ok(None);
        };
        let base = slot_base(header_len);
        let latest = [0, 1]
            .into_iter()
            .filter_map(|slot| {
                let start = (base + slot * SLOT_LEN) as usize;
                bytes.get(start..).and_then(decode_record)
            })
            .max_by_key(|record| record.seq);
        let journal = Journal {
            file,
            dir: dir.to_path_buf(),
            seq: latest.as_ref().map_or(0, |record| record.seq + 1),
            slot_base: base,
            durability,
            header,
        };
        Ok(Some((journal, latest)))
    }

    fn write_record(&mut self, record: &Record) -> io::Result<()> {
        let slot = self.slot_base + (record.seq % 2) * SLOT_LEN;
        write_all_at(&mut self.file, slot, &encode_record(record))?;
        self.sync_file()
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }

    /// Removes the journal once the removal is complete.
    pub fn remove(self) -> io::Result<()> {
        drop(self.file);
        std::fs::remove_file(self.dir.join(JOURNAL_FILE))?;
        if self.durability == Durability::Sync {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    fn sync_file(&self) -> io::Result<()> {
        match self.durability {
            Durability::Sync => self.file.sync_data(),
            Durability::NoSync => Ok(()),
        }
    }

    fn sync_dir(&self) -> io::Result<()> {
        match self.durability {
            Durability::Sync => sync_dir(&self.dir),
            Durability::NoSync => Ok(()),
        }
    }
}

/// Moves the bytes of `queue` that lie outside the journal's spans left,
/// from the position `(write_at, read_at)` to the end of the file, then
/// truncates it. Returns the new length.
///
/// Every chunk is journaled and synced before it is written in place, and
/// the in-place write is synced before the next record reuses a slot.
pub fn shift_and_truncate(
    journal: &mut Journal,
    queue: &mut File,
    mut write_at: u64,
    mut read_at: u64,
    on_progress: &mut dyn FnMut(),
) -> io::Result<u64> {
    let mut end = queue.seek(SeekFrom::End(0))?;
    let spans = journal.header.spans.clone();
    let mut buffer = vec![0; CHUNK_SIZE];
    // Spans are sorted, so one cursor walks them once.
    let mut next_span = spans.partition_point(|span| span.end <= read_at);
    loop {
        // Skip removed bytes; bytes after the last span, including lines
        // appended after a crash, are all kept.
        while let Some(span) = spans.get(next_span).filter(|span| span.start <= read_at) {
            read_at = read_at.max(span.end);
            next_span += 1;
        }
        on_progress();
        if read_at >= end {
            // A producer that does not share our lock may have appended
            // meanwhile; those bytes move too. Only an append between this
            // check and the cut below can still be lost.
            let now = queue.seek(SeekFrom::End(0))?;
            if now < end {
                return Err(io::Error::other(
                    "job.txt became shorter during the delete, so another writer rewrote it",
                ));
            }
            if now == end {
                break;
            }
            end = now;
            continue;
        }
        let region_end = spans.get(next_span).map_or(end, |span| span.start);
        let len = CHUNK_SIZE.min((region_end - read_at) as usize);
        read_exact_at(queue, read_at, &mut buffer[..len])?;
        let after = read_at + len as u64;
        let (fingerprint_len, fingerprint) = fingerprint_at(queue, after, end)?;
        let record = Record {
            seq: journal.next_seq(),
            phase: Phase::Shift,
            write_at,
            read_at,
            fingerprint_len,
            fingerprint,
            data: buffer[..len].to_vec(),
        };
        journal.write_record(&record)?;
        write_all_at(queue, write_at, &buffer[..len])?;
        sync_queue(journal, queue)?;
        write_at += len as u64;
        read_at = after;
    }
    truncate(journal, queue, write_at, end)?;
    Ok(write_at)
}

/// Marks, then performs, the cut of `queue` at `new_len`.
fn truncate(journal: &mut Journal, queue: &mut File, new_len: u64, end: u64) -> io::Result<()> {
    let (fingerprint_len, fingerprint) = fingerprint_at(queue, new_len, end)?;
    let record = Record {
        seq: journal.next_seq(),
        phase: Phase::Truncate,
        write_at: new_len,
        read_at: end,
        fingerprint_len,
        fingerprint,
        data: Vec::new(),
    };
    journal.write_record(&record)?;
    crash_point::before_write(0)?;
    queue.set_len(new_len)?;
    sync_queue(journal, queue)?;
    mark_folder_phase(journal)
}

/// Marks that `job.txt` is final and only the job folder remains.
fn mark_folder_phase(journal: &mut Journal) -> io::Result<()> {
    let record = Record {
        seq: journal.next_seq(),
        phase: Phase::Folder,
        write_at: 0,
        read_at: 0,
        fingerprint_len: 0,
        fingerprint: 0,
        data: Vec::new(),
    };
    journal.write_record(&record)
}

fn sync_queue(journal: &Journal, queue: &File) -> io::Result<()> {
    match journal.durability {
        Durability::Sync => queue.sync_data(),
        Durability::NoSync => Ok(()),
    }
}

/// Syncs a directory, so the creation or removal of an entry in it is on
/// disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Checksums up to [`FINGERPRINT_LEN`] bytes of `file` from `at`, stopping
/// at `end`.
fn fingerprint_at(file: &mut File, at: u64, end: u64) -> io::Result<(u32, u32)> {
    let len = FINGERPRINT_LEN.min(end.saturating_sub(at)) as usize;
    let mut bytes = vec![0; len];
    read_exact_at(file, at, &mut bytes)?;
    Ok((len as u32, crc32fast::hash(&bytes)))
}

fn read_exact_at(file: &mut File, at: u64, buffer: &mut [u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(buffer)
}

fn write_all_at(file: &mut File, at: u64, buffer: &[u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(at))?;
    match crash_point::before_write(buffer.len()) {
        Ok(()) => file.write_all(buffer),
        Err(torn) => {
            file.write_all(&buffer[..torn.written])?;
            Err(torn.into())
        }
    }
}

fn slot_base(header_len: usize) -> u64 {
    (header_len as u64).div_ceil(4096) * 4096
}

mod codec;
mod crash_point;
mod recovery;

pub use recovery::{Recovery, RecoveryError, recover};

#[cfg(test)]
mod tests;
