//! Ids that cannot be one directory entry, or that name one of the queue's
//! own files: each gets a 404 and touches nothing, even when `job.txt` has a
//! line with exactly that id and the path it would name exists.

use std::fs;

use crate::support::client;
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::assert_tree_eq;
use crate::support::{assert_bytes_eq, bodies};

for_each_server!(
    unsafe_ids_touch_nothing,
    queue_file_names_are_not_ids,
    invalid_utf8_id_is_not_found,
    id_of_255_bytes_is_deleted,
    id_of_256_bytes_is_not_found,
);

/// An id as sent in the path, and as it appears, JSON-escaped, in the 404
/// message.
struct Case {
    encoded: &'static str,
    message_id: &'static str,
}

const UNSAFE_IDS: [Case; 17] = [
    Case {
        encoded: "..",
        message_id: "..",
    },
    Case {
        encoded: "%2e%2e",
        message_id: "..",
    },
    Case {
        encoded: "%2E%2E",
        message_id: "..",
    },
    Case {
        encoded: ".",
        message_id: ".",
    },
    Case {
        encoded: "%2e",
        message_id: ".",
    },
    Case {
        encoded: "..%2Foutside",
        message_id: "../outside",
    },
    Case {
        encoded: "video%2F..%2F..%2Foutside",
        message_id: "video/../../outside",
    },
    Case {
        encoded: "video%2f..%2f..%2foutside",
        message_id: "video/../../outside",
    },
    Case {
        encoded: "%2Foutside",
        message_id: "/outside",
    },
    Case {
        encoded: "..%5Coutside",
        message_id: r"..\\outside",
    },
    Case {
        encoded: "video_1764789412_4821%00",
        message_id: r"video_1764789412_4821\u0000",
    },
    Case {
        encoded: "video_1764789412_4821%00.mp4",
        message_id: r"video_1764789412_4821\u0000.mp4",
    },
    Case {
        encoded: "video%01x",
        message_id: r"video\u0001x",
    },
    Case {
        encoded: "video%0Ax",
        message_id: r"video\nx",
    },
    Case {
        encoded: "video%1Fx",
        message_id: r"video\u001fx",
    },
    Case {
        encoded: "video%7Fx",
        message_id: "video\u{7f}x",
    },
    Case {
        encoded: "video%C2%85x",
        message_id: "video\u{85}x",
    },
];

/// The decoded ids of [`UNSAFE_IDS`], each given a completed line in
/// `job.txt` so that only the id check can keep it from being deleted.
const UNSAFE_DECODED: [&str; 12] = [
    "..",
    ".",
    "../outside",
    "video/../../outside",
    "/outside",
    "..\\outside",
    "video_1764789412_4821\0",
    "video_1764789412_4821\0.mp4",
    "video\u{1}x",
    "video\nx",
    "video\u{1f}x",
    "video\u{7f}x",
];

fn unsafe_ids_touch_nothing(kind: ServerKind) {
    let real = Job::completed("video_1764789412_4821", 1764789412);
    let mut jobs = vec![real.clone()];
    for (index, id) in UNSAFE_DECODED.iter().enumerate() {
        jobs.push(Job::completed(id, 1764790000 + index as i64));
    }
    jobs.push(Job::completed("video\u{85}x", 1764790100));
    let job_refs: Vec<&Job> = jobs.iter().collect();
    let queue = Queue::with_job_txt(lines(&job_refs));
    queue.add_job_folder(&real.id);
    // Paths that the ids would name if they were joined to the queue
    // directory: `video/../../outside` resolves through `queue/video`.
    fs::create_dir(queue.dir().join("video")).unwrap();
    fs::write(queue.outside().join("keep.txt"), "outside the queue").unwrap();
    fs::write(queue.root().join("sentinel.txt"), "beside the queue").unwrap();
    fs::create_dir(queue.dir().join("..\\outside")).unwrap();
    fs::create_dir(queue.dir().join("video\u{1}x")).unwrap();
    fs::create_dir(queue.dir().join("video\nx")).unwrap();
    fs::create_dir(queue.dir().join("video\u{7f}x")).unwrap();
    fs::create_dir(queue.dir().join("video\u{85}x")).unwrap();
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    for case in &UNSAFE_IDS {
        let response = client::delete_video(server.addr(), case.encoded);

        assert_eq!(response.status, 404, "{}", case.encoded);
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{}",
            case.encoded
        );
        assert_eq!(
            response.text(),
            bodies::not_found(case.message_id),
            "{}",
            case.encoded
        );
    }
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn queue_file_names_are_not_ids(kind: ServerKind) {
    // A prompt with a newline lets a client put a line that starts like a
    // job of any id into job.txt, here the names of the queue's own files.
    let names = ["job.txt", ".video-delete.lock", ".video-delete.journal"];
    let mut jobs = vec![Job::completed("video_1764789412_4821", 1764789412)];
    for (index, name) in names.iter().enumerate() {
        let injected = format!("{name}$###$completed$###$1764789000$###$a prompt");
        jobs.push(
            Job::completed(&format!("video_176478950{index}_7315"), 1764789500)
                .with_prompt(&format!("Say hello\n{injected}")),
        );
    }
    let job_refs: Vec<&Job> = jobs.iter().collect();
    let queue = Queue::with_job_txt(lines(&job_refs));
    queue.add_job_folder("video_1764789412_4821");
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    for name in names {
        let response = client::delete_video(server.addr(), name);

        assert_eq!(response.status, 404, "{name}");
        assert_eq!(response.text(), bodies::not_found(name), "{name}");
    }
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn invalid_utf8_id_is_not_found(kind: ServerKind) {
    // The id that a lossy decoding of `video%FFx` gives, which must not be
    // deleted in its place.
    let lossy = Job::completed("video\u{fffd}x", 1764789412);
    let mut content = b"video\xffx".to_vec();
    content.extend_from_slice(Job::completed("", 1764789000).line().as_bytes());
    content.extend_from_slice(lossy.line().as_bytes());
    let queue = Queue::with_job_txt(&content);
    queue.add_job_folder(&lossy.id);
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), "video%FFx");

    assert_eq!(response.status, 404);
    assert_eq!(
        response.text(),
        "{\"error\":{\"code\":\"404\",\"message\":\"Video with id video\u{fffd}x not found.\"}}"
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn id_of_255_bytes_is_deleted(kind: ServerKind) {
    let id = format!("video_{}", "7".repeat(249));
    assert_eq!(id.len(), 255);
    let target = Job::completed(&id, 1764789412);
    let kept = Job::completed("video_1764789530_7315", 1764789530);
    let queue = Queue::with_job_txt(lines(&[&target, &kept]));
    queue.add_job_folder(&id);
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &id);

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    assert_bytes_eq(&queue.job_txt(), kept.line().as_bytes());
    assert!(!queue.dir().join(&id).exists(), "the job folder is left");
}

fn id_of_256_bytes_is_not_found(kind: ServerKind) {
    let id = format!("video_{}", "7".repeat(250));
    assert_eq!(id.len(), 256);
    let target = Job::completed(&id, 1764789412);
    let kept = Job::completed("video_1764789530_7315", 1764789530);
    let queue = Queue::with_job_txt(lines(&[&target, &kept]));
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &id);

    assert_eq!(response.status, 404);
    assert_eq!(response.text(), bodies::not_found(&id));
    assert_tree_eq(&queue.snapshot(), &expected);
}
