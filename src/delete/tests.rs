//! Tests of the delete operation on real files in a fresh temp dir.

use std::os::unix::fs::MetadataExt as _;

use super::*;

fn line(id: &str, status: &str) -> String {
    format!(
        "{id}$###${status}$###$1764790000$###$prompt of {id}$###$15$###$720x1280$###$standard$###$25\
         $###$5.0$###$40$###$5.0$###$5.0$###$42$###$False$###$14$###$1764790031$###$1764790045$###$\n"
    )
}

struct Queue {
    dir: tempfile::TempDir,
    config: Config,
}

impl Queue {
    fn new(job_txt: Option<&str>) -> Queue {
        let dir = tempfile::tempdir().unwrap();
        if let Some(content) = job_txt {
            std::fs::write(dir.path().join(QUEUE_FILE), content).unwrap();
        }
        let config = Config {
            video_dir: dir.path().to_path_buf(),
            model: "InfinteTalk".into(),
            separator: b"$###$".to_vec(),
            api_key: None,
            durability: crate::journal::Durability::Sync,
            host_holds_flock: false,
        };
        Queue { dir, config }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn job_txt(&self) -> String {
        std::fs::read_to_string(self.path(QUEUE_FILE)).unwrap()
    }

    fn add_folder(&self, id: &str) {
        let folder = self.path(id);
        std::fs::create_dir_all(folder.join("nested")).unwrap();
        std::fs::write(folder.join("input.json"), "{}").unwrap();
        std::fs::write(folder.join("nested/output.mp4"), "mp4").unwrap();
    }

    fn delete(&self, id: &str) -> Result<DeletedJob, DeleteError> {
        delete_video(&self.config, id)
    }
}

use std::path::PathBuf;

#[test]
fn deletes_line_and_folder() {
    let queue = Queue::new(Some(
        &[
            line("video_1_1000", "completed"),
            line("video_2_2000", "queued"),
        ]
        .concat(),
    ));
    queue.add_folder("video_1_1000");
    queue.add_folder("video_2_2000");

    let job = queue.delete("video_1_1000").unwrap();

    assert_eq!(
        job,
        DeletedJob {
            id: "video_1_1000".into(),
            model: "InfinteTalk".into(),
            status: "deleted".into(),
            progress: 0,
            created_at: 1764790000,
            seconds: "15".into(),
            duration: 14,
            estimated_time: 0,
            queue_length: 0,
            error: String::new(),
            object: "video.deleted".into(),
            deleted: true,
        }
    );
    assert_eq!(queue.job_txt(), line("video_2_2000", "queued"));
    assert!(!queue.path("video_1_1000").exists());
    assert!(queue.path("video_2_2000/nested/output.mp4").exists());
}

#[test]
fn keeps_inode_of_job_txt() {
    let queue = Queue::new(Some(
        &[
            line("video_1_1000", "completed"),
            line("video_2_2000", "queued"),
        ]
        .concat(),
    ));
    let before = std::fs::metadata(queue.path(QUEUE_FILE)).unwrap().ino();
    queue.delete("video_1_1000").unwrap();
    let after = std::fs::metadata(queue.path(QUEUE_FILE)).unwrap().ino();
    assert_eq!(before, after);
}

#[test]
fn missing_queue_is_not_created() {
    let queue = Queue::new(None);
    let error = queue.delete("video_1_1000").unwrap_err();
    assert_eq!(
        error,
        DeleteError::QueueMissing {
            id: "video_1_1000".into()
        }
    );
    assert!(!queue.path(QUEUE_FILE).exists());
}

#[test]
fn unknown_id_changes_nothing() {
    let content = line("video_1_1000", "completed");
    let queue = Queue::new(Some(&content));
    queue.add_folder("video_9_9999");
    let error = queue.delete("video_9_9999").unwrap_err();
    assert_eq!(
        error,
        DeleteError::NotFound {
            id: "video_9_9999".into()
        }
    );
    assert_eq!(queue.job_txt(), content);
    assert!(
        queue.path("video_9_9999/input.json").exists(),
        "a folder without a line stays"
    );
}

#[test]
fn processing_job_changes_nothing() {
    let content = line("video_1_1000", "processing");
    let queue = Queue::new(Some(&content));
    queue.add_folder("video_1_1000");
    let error = queue.delete("video_1_1000").unwrap_err();
    assert_eq!(
        error,
        DeleteError::Processing {
            id: "video_1_1000".into()
        }
    );
    assert_eq!(queue.job_txt(), content);
    assert!(queue.path("video_1_1000/input.json").exists());
}

#[test]
fn malformed_target_changes_nothing() {
    let content = format!(
        "video_1_1000$###$completed$###$1764790000\n{}",
        line("video_2_2000", "queued")
    );
    let queue = Queue::new(Some(&content));
    queue.add_folder("video_1_1000");
    let error = queue.delete("video_1_1000").unwrap_err();
    assert_eq!(error.status(), 500);
    assert_eq!(queue.job_txt(), content);
    assert!(queue.path("video_1_1000/input.json").exists());
}

#[test]
fn missing_folder_is_fine() {
    let queue = Queue::new(Some(&line("video_1_1000", "error")));
    queue.delete("video_1_1000").unwrap();
    assert_eq!(queue.job_txt(), "");
}

#[test]
fn invalid_ids_touch_nothing() {
    let content = [line("..", "completed"), line(".", "completed")].concat();
    let queue = Queue::new(Some(&content));
    let long = "a".repeat(256);
    for id in [
        "",
        ".",
        "..",
        "a/b",
        "a\\b",
        "a\0b",
        "a\nb",
        "a\u{7f}",
        "a\u{85}",
        long.as_str(),
    ] {
        let error = queue.delete(id).unwrap_err();
        assert_eq!(
            error,
            DeleteError::NotFound { id: id.to_string() },
            "{id:?}"
        );
    }
    assert_eq!(queue.job_txt(), content);
}

#[test]
fn longest_valid_id_is_accepted() {
    let id = "v".repeat(255);
    let queue = Queue::new(Some(&line(&id, "queued")));
    queue.delete(&id).unwrap();
    assert_eq!(queue.job_txt(), "");
}

#[test]
fn symlink_inside_folder_not_followed() {
    let queue = Queue::new(Some(&line("video_1_1000", "completed")));
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("keep.txt"), "keep").unwrap();
    queue.add_folder("video_1_1000");
    std::os::unix::fs::symlink(outside.path(), queue.path("video_1_1000/link")).unwrap();

    queue.delete("video_1_1000").unwrap();

    assert!(!queue.path("video_1_1000").exists());
    assert_eq!(
        std::fs::read_to_string(outside.path().join("keep.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn folder_symlink_removed_as_link() {
    let queue = Queue::new(Some(&line("video_1_1000", "completed")));
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("keep.txt"), "keep").unwrap();
    std::os::unix::fs::symlink(outside.path(), queue.path("video_1_1000")).unwrap();

    queue.delete("video_1_1000").unwrap();

    assert!(std::fs::symlink_metadata(queue.path("video_1_1000")).is_err());
    assert_eq!(
        std::fs::read_to_string(outside.path().join("keep.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn large_tail_moves_across_chunks() {
    let mut content = line("video_0_0000", "completed");
    let mut expected = String::new();
    for i in 1..12000 {
        let kept = line(&format!("video_{i}_1000"), "queued");
        content.push_str(&kept);
        expected.push_str(&kept);
        if i % 4000 == 0 {
            content.push_str(&line("video_0_0000", "error"));
        }
    }
    assert!(content.len() > 2 * crate::journal::CHUNK_SIZE);
    let queue = Queue::new(Some(&content));
    queue.delete("video_0_0000").unwrap();
    assert_eq!(queue.job_txt(), expected);
}

#[test]
fn read_only_queue_is_reported() {
    use std::os::unix::fs::PermissionsExt as _;
    let content = line("video_1_1000", "completed");
    let queue = Queue::new(Some(&content));
    std::fs::set_permissions(
        queue.path(QUEUE_FILE),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    // Root ignores file modes, so the check only runs where they apply.
    if std::fs::OpenOptions::new()
        .write(true)
        .open(queue.path(QUEUE_FILE))
        .is_ok()
    {
        return;
    }
    let error = queue.delete("video_1_1000").unwrap_err();
    assert!(error.to_string().contains("is read-only"), "{error}");
    assert_eq!(queue.job_txt(), content);
    assert_eq!(queue.delete("video_9_9999").unwrap_err().status(), 404);
}

#[test]
fn pending_folder_removed_by_recovery() {
    let queue = Queue::new(Some(&line("video_2_2000", "queued")));
    queue.add_folder("video_1_1000");
    note_pending_folder(queue.dir.path(), "video_1_1000").unwrap();
    assert!(queue.path(PENDING_DIR).join("video_1_1000").exists());

    assert_eq!(crate::recover(&queue.config).unwrap(), None);

    assert!(!queue.path("video_1_1000").exists());
    assert!(!queue.path(PENDING_DIR).exists());
    assert_eq!(queue.job_txt(), line("video_2_2000", "queued"));
}

#[test]
fn pending_folder_does_not_block_deletes() {
    let queue = Queue::new(Some(&line("video_2_2000", "queued")));
    // A regular file in place of the marker directory makes every retry
    // fail to list it, which must not fail the delete.
    std::fs::write(queue.path(PENDING_DIR), "not a directory").unwrap();
    queue.delete("video_2_2000").unwrap();
    assert_eq!(queue.job_txt(), "");
}

#[test]
fn reserved_names_are_not_ids() {
    for id in [
        "job.txt",
        ".video-delete.journal",
        ".video-delete.lock",
        ".video-delete.pending",
    ] {
        let content = line(id, "completed");
        let queue = Queue::new(Some(&content));
        assert_eq!(
            queue.delete(id).unwrap_err(),
            DeleteError::NotFound { id: id.to_string() }
        );
        assert_eq!(queue.job_txt(), content);
    }
}

#[test]
fn folder_error_names_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("job");
    std::fs::create_dir(&folder).unwrap();
    for name in ["a", "b", "c", "d", "e", "f", "g"] {
        std::fs::write(folder.join(name), "x").unwrap();
    }
    let described = describe_entries(&folder);
    assert!(described.ends_with(" and 2 more"), "{described}");
    assert_eq!(described.matches(", ").count(), 4, "{described}");
    assert_eq!(
        describe_entries(&dir.path().join("missing")),
        "nothing that can be listed"
    );
}

#[test]
fn leftover_lock_taken_under_host_flock() {
    let mut queue = Queue::new(Some(&line("video_1_1000", "completed")));
    std::fs::write(queue.path(crate::queue_lock::LOCK_FILE), "0123456789abcdef").unwrap();
    queue.config.host_holds_flock = true;

    queue.delete("video_1_1000").unwrap();

    assert_eq!(queue.job_txt(), "");
    assert!(!queue.path(crate::queue_lock::LOCK_FILE).exists());
}

#[test]
fn huge_other_line_is_kept() {
    let huge = format!("{}\n", "x".repeat(3 * crate::job_file::MAX_LINE_BYTES));
    let content = [
        line("video_1_1000", "completed"),
        huge.clone(),
        line("video_2_2000", "queued"),
    ]
    .concat();
    let queue = Queue::new(Some(&content));
    queue.delete("video_1_1000").unwrap();
    assert_eq!(
        queue.job_txt(),
        [huge, line("video_2_2000", "queued")].concat()
    );
}

#[test]
fn huge_target_line_changes_nothing() {
    let huge = line("video_1_1000", "completed").replace("prompt of", &"p".repeat(2 << 20));
    let content = [huge, line("video_2_2000", "queued")].concat();
    let queue = Queue::new(Some(&content));
    let error = queue.delete("video_1_1000").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "Internal server error: line 1 of job.txt has id video_1_1000 but is {} bytes long, \
             longer than the 1048576 bytes a job line may have, so fix or remove that line by hand",
            content.find('\n').unwrap() + 1
        )
    );
    assert_eq!(queue.job_txt(), content);
}
