//! The component's lock file `.video-delete.lock`: one left by a holder
//! that died (its modification time 60 s old) is taken over, and one that a
//! live holder keeps makes a delete give up after its bounded wait.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::fixtures::LOCK_FILE;
use crate::fixtures::client::error_of;
use crate::support::client;
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::Tree;

/// The token of a lock file that no delete of this test wrote.
const FOREIGN_TOKEN: &str = "0123456789abcdef";

#[test]
fn stale_lock_taken_fresh_lock_rejected() {
    let first = Job::completed("video_1764791000_1001", 1764791000);
    let second = Job::completed("video_1764791100_1002", 1764791100).with_duration(12);
    let third = Job::completed("video_1764791200_1003", 1764791200).with_duration(7);
    let queue = Queue::with_job_txt(lines(&[&first, &second, &third]));
    for job in [&first, &second, &third] {
        queue.add_job_folder(&job.id);
    }
    let dir = queue.dir();
    let lock = dir.join(LOCK_FILE);

    for (kind, job) in [
        (ServerKind::Host, &first),
        (ServerKind::WasmtimeServe, &second),
    ] {
        write_lock(&dir, SystemTime::now() - Duration::from_secs(60));
        let server = Server::start(kind, &dir);
        let response = client::delete_video(server.addr(), &job.id);
        assert_eq!(response.status, 200, "{kind:?}: {}", response.text());
        assert_eq!(response.text(), job.deleted_body());
        assert!(!lock.exists(), "{kind:?} left the taken-over lock file");
        assert!(!dir.join(&job.id).exists(), "{kind:?} kept the folder");
    }
    assert_eq!(queue.job_txt(), lines(&[&third]).as_bytes());

    // A lock written just now belongs to a live holder: the delete waits for
    // it (10 s at most) and fails without touching anything.
    write_lock(&dir, SystemTime::now());
    let before = queue.snapshot();
    let server = Server::start(ServerKind::WasmtimeServe, &dir);
    let response = client::delete_video(server.addr(), &third.id);
    assert_eq!(response.status, 500, "{}", response.text());
    let (code, message) = error_of(&response);
    assert_eq!(code, "500");
    assert!(
        message.starts_with("Internal server error: the job queue is locked by another delete"),
        "unexpected message: {message}"
    );
    assert_eq!(queue.snapshot(), before);
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), FOREIGN_TOKEN);

    // Once the holder releases it, the same delete goes through.
    std::fs::remove_file(&lock).unwrap();
    let response = client::delete_video(server.addr(), &third.id);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), third.deleted_body());
    let mut expected = before;
    expected.set_file("queue/job.txt", "");
    expected.remove(format!("queue/{LOCK_FILE}"));
    expected.remove(format!("queue/{}", third.id));
    assert_eq!(queue.snapshot(), expected);
    assert_eq!(Tree::read(&queue.outside()), Tree(Default::default()));
}

/// Writes a lock file of another holder with the modification time
/// `modified`.
fn write_lock(dir: &Path, modified: SystemTime) {
    let mut file = File::create(dir.join(LOCK_FILE)).unwrap();
    file.write_all(FOREIGN_TOKEN.as_bytes()).unwrap();
    file.set_modified(modified).unwrap();
}
