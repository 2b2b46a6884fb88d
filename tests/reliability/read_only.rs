//! A queue directory that turns read-only while the host runs: it is a
//! bind mount, remounted read-only after a first delete, which stops root
//! as well (a mode of 0555 would not). A delete must then fail with 500, with
//! a message stating that the queue directory is read-only, and leave the
//! queue as it was. A delete of an unknown id must still return 404.

use crate::fixtures::client::error_of;
use crate::fixtures::mounts::Mount;
use crate::fixtures::{JOURNAL_FILE, LOCK_FILE};
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::Tree;
use crate::support::{bodies, client};

#[test]
fn read_only_queue_rejects_delete() {
    let first = Job::completed("video_1764793000_3001", 1764793000);
    let second = Job::completed("video_1764793100_3002", 1764793100).with_duration(51);
    let kept = Job::completed("video_1764793200_3003", 1764793200).with_duration(9);
    let queue = Queue::empty();
    // The files live in `backing`, which stays writable, so the test can
    // read them whatever the state of the mount.
    let backing = queue.root().join("backing");
    std::fs::create_dir(&backing).unwrap();
    std::fs::write(backing.join("job.txt"), lines(&[&first, &second, &kept])).unwrap();
    for job in [&first, &second, &kept] {
        std::fs::create_dir(backing.join(&job.id)).unwrap();
        std::fs::write(backing.join(&job.id).join("video.mp4"), &job.id).unwrap();
    }
    let dir = queue.dir();
    let mount = Mount::bind(&backing, &dir);
    let server = Server::start(ServerKind::Host, &dir);

    let response = client::delete_video(server.addr(), &first.id);
    assert_eq!(response.status, 200, "{}", response.text());
    let writable = Tree::read(&backing);

    mount.remount_read_only();
    let response = client::delete_video(server.addr(), &second.id);
    assert_eq!(response.status, 500, "{}", response.text());
    let (code, message) = error_of(&response);
    assert_eq!(code, "500");
    assert!(message.starts_with("Internal server error: "), "{message}");
    assert!(
        message
            .starts_with("Internal server error: the queue directory /video cannot be written ("),
        "the message does not name the queue directory: {message}"
    );
    assert!(
        message.ends_with(
            "so it is read-only, not writable by this host, or full; grant write access to it \
             or free space"
        ),
        "the message does not name the causes and the fix: {message}"
    );
    assert_eq!(Tree::read(&backing), writable);
    assert!(!backing.join(LOCK_FILE).exists());
    assert!(!backing.join(JOURNAL_FILE).exists());

    // A delete of an unknown id changes nothing, so it still gets its 404.
    let response = client::delete_video(server.addr(), "video_1764793999_3999");
    assert_eq!(response.status, 404, "{}", response.text());
    assert_eq!(response.text(), bodies::not_found("video_1764793999_3999"));

    mount.remount_writable();
    let response = client::delete_video(server.addr(), &second.id);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), second.deleted_body());
    let mut expected = writable;
    expected.set_file("job.txt", lines(&[&kept]));
    expected.remove(&second.id);
    assert_eq!(Tree::read(&backing), expected);
    drop(server);
}
