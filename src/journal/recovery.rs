//! Recovery: finishing, from its journal, a removal that a crash
//! interrupted.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::Path;

use super::{
    Durability, JOURNAL_FILE, Journal, Phase, Record, fingerprint_at, mark_folder_phase,
    shift_and_truncate, sync_queue, write_all_at,
};

/// The outcome of looking for an interrupted removal.
pub enum Recovery {
    /// No journal: nothing to do.
    Clean,
    /// A journal whose removal had not changed `job.txt` yet; it was
    /// dropped and the job stays.
    RolledBack { id: String },
    /// `job.txt` is final; the caller removes the job folder, then the
    /// journal.
    FolderPending(Journal),
}

/// The reason recovery could not finish an interrupted removal.
#[derive(Debug)]
pub enum RecoveryError {
    Io(io::Error),
    /// `job.txt` no longer contains what the journal expects, so finishing
    /// the removal could destroy lines.
    Changed {
        id: String,
    },
}

impl From<io::Error> for RecoveryError {
    fn from(error: io::Error) -> Self {
        RecoveryError::Io(error)
    }
}

/// Finishes the removal a crash interrupted, up to the folder step.
pub fn recover(
    dir: &Path,
    queue_path: &Path,
    durability: Durability,
    on_progress: &mut dyn FnMut(),
) -> Result<Recovery, RecoveryError> {
    let Some((mut journal, latest)) = Journal::open(dir, durability)? else {
        // No journal, or one whose header is torn: job.txt was not changed.
        match std::fs::remove_file(dir.join(JOURNAL_FILE)) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.into()),
        }
        return Ok(Recovery::Clean);
    };
    let id = journal.header.id.clone();
    let Some(record) = latest else {
        // No record: no byte of job.txt was written yet.
        journal.remove()?;
        return Ok(Recovery::RolledBack { id });
    };
    match record.phase {
        Phase::Folder => Ok(Recovery::FolderPending(journal)),
        Phase::Shift => {
            let mut queue = OpenOptions::new().read(true).write(true).open(queue_path)?;
            let end = queue.seek(SeekFrom::End(0))?;
            let after = record.read_at + record.data.len() as u64;
            if end < journal.header.file_len || !matches_fingerprint(&mut queue, after, &record)? {
                return Err(RecoveryError::Changed { id });
            }
            // The in-place write of this chunk may be torn; redo it.
            write_all_at(&mut queue, record.write_at, &record.data)?;
            sync_queue(&journal, &queue)?;
            let write_at = record.write_at + record.data.len() as u64;
            shift_and_truncate(&mut journal, &mut queue, write_at, after, on_progress)?;
            Ok(Recovery::FolderPending(journal))
        }
        Phase::Truncate => {
            let mut queue = OpenOptions::new().read(true).write(true).open(queue_path)?;
            if matches_fingerprint(&mut queue, record.write_at, &record)? {
                // The cut never happened: move anything appended since, then
                // cut.
                shift_and_truncate(
                    &mut journal,
                    &mut queue,
                    record.write_at,
                    record.read_at,
                    on_progress,
                )?;
            } else {
                mark_folder_phase(&mut journal)?;
            }
            Ok(Recovery::FolderPending(journal))
        }
    }
}

/// Whether `file` holds, at `at`, the bytes whose checksum `record` kept.
fn matches_fingerprint(file: &mut File, at: u64, record: &Record) -> io::Result<bool> {
    let len = u64::from(record.fingerprint_len);
    let end = file.seek(SeekFrom::End(0))?;
    if end < at + len {
        return Ok(false);
    }
    Ok(fingerprint_at(file, at, at + len)? == (record.fingerprint_len, record.fingerprint))
}
