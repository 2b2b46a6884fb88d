//! A full disk: the queue directory is a 1 MiB tmpfs that a job's video
//! fills. A delete that cannot write must fail with 500, name what failed
//! and leave the queue as it was, and once there is space again the next
//! delete must go through.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::Path;

use crate::fixtures::client::error_of;
use crate::fixtures::mounts::{Mount, available_bytes};
use crate::fixtures::{JOURNAL_FILE, LOCK_FILE, assert_no_delete_in_progress};
use crate::support::client;
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};

/// The page size of tmpfs on x86-64 Linux, its unit of allocation.
const PAGE: u64 = 4096;

#[test]
fn full_disk_fails_delete_cleanly() {
    let target = Job::completed("video_1764792000_2001", 1764792000);
    let filler = Job::completed("video_1764792100_2002", 1764792100).with_duration(44);
    let queue = Queue::empty();
    let dir = queue.dir();
    let _tmpfs = Mount::tmpfs(&dir, "1m");
    std::fs::write(queue.job_txt_path(), lines(&[&target, &filler])).unwrap();
    queue.add_job_folder(&target.id);
    queue.add_job_folder(&filler.id);
    let server = Server::start(ServerKind::Host, &dir);
    let video = dir.join(&filler.id).join("video.mp4");
    let before = queue.snapshot();

    // One free page: the lock file's token fits, the journal does not.
    fill(&video);
    let filled_len = std::fs::metadata(&video).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&video)
        .unwrap()
        .set_len((filled_len.div_ceil(PAGE) - 1) * PAGE)
        .unwrap();
    assert_eq!(
        available_bytes(&dir),
        PAGE,
        "the test could not leave one page free"
    );
    let full = queue.snapshot();
    let response = client::delete_video(server.addr(), &target.id);
    assert_eq!(response.status, 500, "{}", response.text());
    let (code, message) = error_of(&response);
    assert_eq!(code, "500");
    let journal_failure =
        format!("Internal server error: failed to create journal /video/{JOURNAL_FILE}: ");
    assert!(
        message.starts_with(&journal_failure),
        "unexpected message: {message}"
    );
    assert_eq!(queue.job_txt(), before_job_txt(&target, &filler));
    assert!(
        !dir.join(LOCK_FILE).exists(),
        "the lock file was left behind"
    );
    let mut left = queue.snapshot();
    // An empty journal may stay; the next delete removes it before it
    // starts.
    if dir.join(JOURNAL_FILE).exists() {
        assert_eq!(
            std::fs::read(dir.join(JOURNAL_FILE)).unwrap(),
            b"",
            "a partial journal"
        );
        left.remove(format!("queue/{JOURNAL_FILE}"));
    }
    assert_eq!(left, full);

    // No free page: not even the lock file can be written.
    fill(&video);
    assert_eq!(available_bytes(&dir), 0);
    let response = client::delete_video(server.addr(), &target.id);
    assert_eq!(response.status, 500, "{}", response.text());
    let (_, message) = error_of(&response);
    let lock_failure = "Internal server error: the queue directory /video cannot be written (";
    assert!(
        message.starts_with(lock_failure),
        "unexpected message: {message}"
    );
    assert_eq!(queue.job_txt(), before_job_txt(&target, &filler));
    assert!(
        !dir.join(LOCK_FILE).exists(),
        "a lock file whose token could not be written was left behind, so every delete of the \
         next 30 s waits for it"
    );

    // With space again, the delete goes through at once.
    File::create(&video).unwrap();
    let response = client::delete_video(server.addr(), &target.id);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), target.deleted_body());
    let mut expected = before;
    expected.set_file("queue/job.txt", lines(&[&filler]));
    expected.set_file(format!("queue/{}/video.mp4", filler.id), "");
    expected.remove(format!("queue/{}", target.id));
    assert_eq!(queue.snapshot(), expected);
    assert_no_delete_in_progress(&dir);
    drop(server);
}

fn before_job_txt(target: &Job, filler: &Job) -> Vec<u8> {
    lines(&[target, filler]).into_bytes()
}

/// Appends zeros to `path` until the file system is full.
fn fill(path: &Path) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    let chunk = vec![0; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::StorageFull => break,
            Err(error) => panic!("failed to fill {}: {error}", path.display()),
        }
    }
}
