//! The host's command line: the `delete` subcommand and its exit codes, and
//! the start-up checks of `serve`.

use std::net::TcpListener;
use std::path::Path;

use crate::support::bodies;
use crate::support::queue::{Job, Queue, format_line, lines};
use crate::support::server::{Finished, host_command, run_to_exit, without_timestamp};
use crate::support::tree::assert_tree_eq;

fn run_delete(video_dir: &Path, id: &str) -> Finished {
    let mut command = host_command();
    command
        .arg("delete")
        .arg("--video-dir")
        .arg(video_dir)
        .arg(id);
    run_to_exit(command)
}

/// Returns the lines of `stderr` at level ERROR, without their timestamps.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(without_timestamp)
        .filter(|line| line.starts_with("ERROR "))
        .collect()
}

#[track_caller]
fn assert_stdout(finished: &Finished, code: i32, body: &str) {
    assert_eq!(finished.status.code(), Some(code), "{finished:?}");
    assert_eq!(
        String::from_utf8_lossy(&finished.stdout),
        format!("{body}\n")
    );
}

#[test]
fn delete_command_prints_deleted_job() {
    let first = Job::completed("video_1764789412_4821", 1764789412);
    let target = Job::completed("video_1764789530_7315", 1764789530)
        .with_seconds("10")
        .with_duration(245);
    let queue = Queue::with_job_txt(lines(&[&first, &target]));
    queue.add_job_folder(&target.id);
    let mut expected = queue.snapshot();

    let finished = run_delete(&queue.dir(), &target.id);

    assert_stdout(
        &finished,
        0,
        r#"{"id":"video_1764789530_7315","model":"InfinteTalk","status":"deleted","progress":0,"created_at":1764789530,"seconds":"10","duration":245,"estimated_time":0,"queue_length":0,"error":"","object":"video.deleted","deleted":true}"#,
    );
    expected.set_file("queue/job.txt", first.line());
    expected.remove("queue/video_1764789530_7315");
    assert_tree_eq(&queue.snapshot(), &expected);
}

#[test]
fn delete_command_not_found_exits_3() {
    let kept = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(kept.line());
    queue.add_job_folder(&kept.id);
    let expected = queue.snapshot();

    let unknown = run_delete(&queue.dir(), "video_1764789530_7315");
    let unsafe_id = run_delete(&queue.dir(), "..");

    assert_stdout(
        &unknown,
        3,
        r#"{"error":{"code":"404","message":"Video with id video_1764789530_7315 not found."}}"#,
    );
    assert_stdout(&unsafe_id, 3, &bodies::not_found(".."));
    assert_tree_eq(&queue.snapshot(), &expected);
}

#[test]
fn delete_command_missing_queue_exits_3() {
    let queue = Queue::empty();
    queue.add_job_folder("video_1764789412_4821");
    let expected = queue.snapshot();

    let finished = run_delete(&queue.dir(), "video_1764789412_4821");

    assert_stdout(
        &finished,
        3,
        r#"{"error":{"code":"404","message":"Job queue is missing and video with id video_1764789412_4821 not found."}}"#,
    );
    assert!(!queue.job_txt_path().exists(), "job.txt was created");
    assert_tree_eq(&queue.snapshot(), &expected);
}

#[test]
fn delete_command_processing_exits_4() {
    let running = Job::completed("video_1764789901_5567", 1764789901)
        .with_status("processing")
        .with_duration(0);
    let queue = Queue::with_job_txt(running.line());
    queue.add_job_folder(&running.id);
    let expected = queue.snapshot();

    let finished = run_delete(&queue.dir(), &running.id);

    assert_stdout(
        &finished,
        4,
        r#"{"error":{"code":"400","message":"Video with id video_1764789901_5567 is processing and cannot be deleted."}}"#,
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

#[test]
fn delete_command_internal_error_exits_5() {
    let id = "video_1764789412_4821";
    let kept = Job::completed("video_1764789530_7315", 1764789530);
    let short = format_line(&[id, "completed", "1764789412", "A prompt cut short"]);
    let queue = Queue::with_job_txt(format!("{short}{}", kept.line()));
    queue.add_job_folder(id);
    let expected = queue.snapshot();

    let finished = run_delete(&queue.dir(), id);

    assert_stdout(
        &finished,
        5,
        r#"{"error":{"code":"500","message":"Internal server error: line 1 of job.txt has id video_1764789412_4821 but only 4 of 18 fields; it lacks seconds and generate_duration, so fix or remove that line by hand"}}"#,
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

#[test]
fn missing_video_dir_is_rejected() {
    let queue = Queue::empty();
    let missing = queue.root().join("no-such-queue");
    let expected_error = format!(
        "ERROR video_delete_host: queue directory {} is not accessible (No such file or \
         directory (os error 2)); pass --video-dir with an existing directory that holds job.txt",
        missing.display()
    );

    let mut serve = host_command();
    serve
        .arg("serve")
        .arg("--video-dir")
        .arg(&missing)
        .args(["--listen", "127.0.0.1:0"]);
    let serve = run_to_exit(serve);
    let delete = run_delete(&missing, "video_1764789412_4821");

    for finished in [&serve, &delete] {
        assert_eq!(finished.status.code(), Some(1), "{finished:?}");
        assert_eq!(error_lines(&finished.stderr), [expected_error.as_str()]);
        assert_eq!(finished.stdout, b"");
    }
    assert!(!missing.exists(), "the queue directory was created");
}

#[test]
fn file_as_video_dir_is_rejected() {
    let queue = Queue::with_job_txt("");
    let file = queue.job_txt_path();

    let mut serve = host_command();
    serve
        .arg("serve")
        .arg("--video-dir")
        .arg(&file)
        .args(["--listen", "127.0.0.1:0"]);
    let finished = run_to_exit(serve);

    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert_eq!(
        error_lines(&finished.stderr),
        [format!(
            "ERROR video_delete_host: queue directory {} is not a directory; pass --video-dir \
             with the directory that holds job.txt",
            file.display()
        )
        .as_str()]
    );
}

#[test]
fn address_in_use_is_rejected() {
    let queue = Queue::with_job_txt("");
    let occupied = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = occupied.local_addr().unwrap();

    let mut serve = host_command();
    serve
        .arg("serve")
        .arg("--video-dir")
        .arg(queue.dir())
        .arg("--listen")
        .arg(addr.to_string());
    let finished = run_to_exit(serve);

    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert_eq!(
        error_lines(&finished.stderr),
        [format!(
            "ERROR video_delete_host: failed to listen on {addr}; if another server uses that \
             address, stop it or pass --listen with another address (port 0 picks a free one): \
             Address already in use (os error 98)"
        )
        .as_str()]
    );
    assert!(
        !finished.stderr.contains("serving DELETE"),
        "the host reported that it serves: {}",
        finished.stderr
    );
    drop(occupied);
}
