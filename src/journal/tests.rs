//! Crash tests of the journal: a delete is stopped at every write it makes,
//! with the write torn or not, and recovery must leave either the whole job
//! or none of it, and every other byte.

use super::*;
use crate::{Config, DeleteError, delete_video, recover};

const TARGET: &str = "video_1764790000_0001";

fn line(id: &str, filler: usize) -> String {
    format!(
        "{id}$###$completed$###$1764790000$###${}$###$15$###$720x1280$###$standard$###$25\
         $###$5.0$###$40$###$5.0$###$5.0$###$42$###$False$###$14$###$1764790031$###$1764790045$###$\n",
        "p".repeat(filler)
    )
}

struct Case {
    dir: tempfile::TempDir,
    config: Config,
    original: String,
    without_target: String,
}

/// A queue of about 3 MiB, so the tail moves in several chunks, with the
/// target near the start and a duplicate of it further on.
fn case() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let mut original = String::new();
    let mut without_target = String::new();
    for i in 0..3000 {
        let id = if i == 1 || i == 1700 {
            TARGET.to_string()
        } else {
            format!("video_1764790000_{i:04}x")
        };
        let text = line(&id, 1000);
        original.push_str(&text);
        if id != TARGET {
            without_target.push_str(&text);
        }
    }
    std::fs::write(dir.path().join("job.txt"), &original).unwrap();
    std::fs::create_dir_all(dir.path().join(TARGET).join("nested")).unwrap();
    std::fs::write(dir.path().join(TARGET).join("nested/output.mp4"), "mp4").unwrap();
    let config = Config {
        video_dir: dir.path().to_path_buf(),
        model: "InfinteTalk".into(),
        separator: b"$###$".to_vec(),
        api_key: None,
        durability: Durability::Sync,
        host_holds_flock: false,
    };
    Case {
        dir,
        config,
        original,
        without_target,
    }
}

fn journal_exists(case: &Case) -> bool {
    case.dir.path().join(JOURNAL_FILE).exists()
}

/// Runs one crash at write `writes`, optionally appends a line as the
/// producer would, recovers, and checks the queue.
fn crash_and_recover(writes: usize, torn: (usize, usize), append: bool) -> bool {
    let case = case();
    crash_point::arm(writes, torn.0, torn.1);
    let result = delete_video(&case.config, TARGET);
    crash_point::disarm();
    let crashed = result.is_err();
    if let Err(error) = &result {
        assert!(
            matches!(error, DeleteError::Internal { .. }),
            "crash at write {writes}: {error}"
        );
    }

    let appended = line("video_1764799999_9999", 10);
    if append {
        use std::io::Write as _;
        let mut file = OpenOptions::new()
            .append(true)
            .open(case.dir.path().join("job.txt"))
            .unwrap();
        file.write_all(appended.as_bytes()).unwrap();
    }
    recover(&case.config).unwrap();

    let content = std::fs::read_to_string(case.dir.path().join("job.txt")).unwrap();
    let suffix = if append { appended.as_str() } else { "" };
    let folder_exists = case.dir.path().join(TARGET).exists();
    if content == format!("{}{suffix}", case.without_target) {
        assert!(
            !folder_exists,
            "crash at write {writes}: line gone but folder kept"
        );
    } else {
        assert_eq!(
            content,
            format!("{}{suffix}", case.original),
            "crash at write {writes} torn {torn:?} append {append}: queue damaged"
        );
        assert!(
            folder_exists,
            "crash at write {writes}: line kept but folder gone"
        );
    }
    assert!(
        !journal_exists(&case),
        "crash at write {writes}: journal left"
    );
    crashed
}

#[test]
fn crash_at_every_write_recovers() {
    for torn in [(0, 1), (1, 2)] {
        for append in [false, true] {
            let mut writes = 0;
            while crash_and_recover(writes, torn, append) {
                writes += 1;
                assert!(writes < 100, "the delete never completed");
            }
            // A delete of this queue makes a header, chunk and step writes.
            assert!(writes >= 8, "only {writes} writes were crashed");
        }
    }
}

#[test]
fn recovery_without_journal_is_clean() {
    let case = case();
    assert_eq!(recover(&case.config).unwrap(), None);
    let content = std::fs::read_to_string(case.dir.path().join("job.txt")).unwrap();
    assert_eq!(content, case.original);
}

#[test]
fn rewritten_queue_stops_recovery() {
    let case = case();
    // Crash after the header and the first chunk record and write.
    crash_point::arm(3, 0, 1);
    assert!(delete_video(&case.config, TARGET).is_err());
    crash_point::disarm();
    let rewritten = case.without_target.replacen("completed", "error", 2000);
    std::fs::write(case.dir.path().join("job.txt"), &rewritten).unwrap();

    let error = recover(&case.config).unwrap_err();

    assert!(
        error
            .to_string()
            .contains("cannot be finished because job.txt changed after it"),
        "{error}"
    );
    let content = std::fs::read_to_string(case.dir.path().join("job.txt")).unwrap();
    assert_eq!(
        content, rewritten,
        "recovery must not touch a changed queue"
    );
    assert!(journal_exists(&case));
}

#[test]
fn record_round_trips() {
    let record = Record {
        seq: 7,
        phase: Phase::Shift,
        write_at: 10,
        read_at: 300,
        fingerprint_len: 4096,
        fingerprint: 0xdead_beef,
        data: b"chunk".to_vec(),
    };
    let encoded = encode_record(&record);
    assert_eq!(decode_record(&encoded), Some(record));
    let mut torn = encoded.clone();
    torn.truncate(encoded.len() - 1);
    assert_eq!(decode_record(&torn), None);
    let mut flipped = encoded;
    flipped[20] ^= 1;
    assert_eq!(decode_record(&flipped), None);
}

#[test]
fn header_round_trips() {
    let header = Header {
        id: TARGET.to_string(),
        file_len: 1234,
        spans: vec![0..10, 100..150],
    };
    let encoded = encode_header(&header);
    assert_eq!(decode_header(&encoded), Some((header, encoded.len())));
    assert_eq!(decode_header(&encoded[..encoded.len() - 1]), None);
}
