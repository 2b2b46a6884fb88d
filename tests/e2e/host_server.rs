//! Behaviour of `video-delete-host serve` beyond the HTTP contract: its
//! logs, the producer's lock on `job.txt`, and shutdown on SIGTERM.

use crate::support::client;
use crate::support::lock;
use crate::support::queue::{Job, Queue, format_line, lines};
use crate::support::server::{Server, ServerKind, without_timestamp};
use crate::support::tree::assert_tree_eq;

const REQUEST_LOG: &str = "INFO video_delete_host::server: request ";

fn is_request_line(line: &str) -> bool {
    without_timestamp(line).starts_with(REQUEST_LOG)
}

/// Checks that a request line has a duration in milliseconds, then returns
/// the line without its timestamp and with the duration replaced by `ms=_`,
/// since no test asserts how long a request took.
#[track_caller]
fn without_duration(line: &str) -> String {
    let line = without_timestamp(line);
    let (before, rest) = line
        .split_once(" ms=")
        .unwrap_or_else(|| panic!("no ms= in {line}"));
    let (ms, after) = rest.split_once(' ').unwrap_or((rest, ""));
    let ms: f64 = ms
        .parse()
        .unwrap_or_else(|_| panic!("ms={ms} is not a number in {line}"));
    assert!(ms >= 0.0, "negative duration in {line}");
    format!("{before} ms=_ {after}")
}

#[test]
fn startup_log_names_address_and_directory() {
    let queue = Queue::with_job_txt("");
    let server = Server::start(ServerKind::Host, &queue.dir());

    let line = server.wait_for_line("the start-up line", |line| line.contains("serving"));

    assert_eq!(
        without_timestamp(&line),
        format!(
            "INFO video_delete_host::server: serving DELETE /v1/videos/{{video_id}} listen={} \
             video_dir={} api_key=none",
            server.addr(),
            queue.dir().canonicalize().unwrap().display()
        )
    );
    assert_eq!(server.addr().ip().to_string(), "127.0.0.1");
    assert_ne!(server.addr().port(), 0);
}

#[test]
fn logs_one_line_per_request() {
    let deleted = Job::completed("video_1764789412_4821", 1764789412);
    let running = Job::completed("video_1764789901_5567", 1764789901).with_status("processing");
    let short = format_line(&["video_1764789688_2093", "completed", "1764789688", "cut"]);
    // The short line is line 3, and line 2 once the first request has
    // deleted line 1.
    let content = format!("{}{short}", lines(&[&deleted, &running]));
    let queue = Queue::with_job_txt(content);
    let server = Server::start(ServerKind::Host, &queue.dir());
    let addr = server.addr();

    let statuses = [
        client::delete_video(addr, "vid%65o_1764789412_4821").status,
        client::delete_video(addr, "video_1764789901_5567").status,
        client::delete_video(addr, "video_1764789530_7315").status,
        client::delete_video(addr, "video_1764789688_2093").status,
        client::delete_video(addr, "video%0Ax").status,
        client::request(addr, "GET", "/v1/videos/video_1764789412_4821?x=1").status,
        client::request(addr, "DELETE", "/v1/jobs").status,
    ];
    let request_lines = server.wait_for_lines("7 request lines", 7, is_request_line);

    assert_eq!(statuses, [200, 400, 404, 500, 404, 405, 404]);
    let request_lines: Vec<String> = request_lines
        .iter()
        .map(|line| without_duration(line))
        .collect();
    assert_eq!(
        request_lines,
        [
            r#"INFO video_delete_host::server: request method=DELETE path=/v1/videos/vid%65o_1764789412_4821 status=200 ms=_ video_id="video_1764789412_4821""#,
            r#"INFO video_delete_host::server: request method=DELETE path=/v1/videos/video_1764789901_5567 status=400 ms=_ video_id="video_1764789901_5567""#,
            r#"INFO video_delete_host::server: request method=DELETE path=/v1/videos/video_1764789530_7315 status=404 ms=_ video_id="video_1764789530_7315""#,
            r#"INFO video_delete_host::server: request method=DELETE path=/v1/videos/video_1764789688_2093 status=500 ms=_ video_id="video_1764789688_2093""#,
            r#"INFO video_delete_host::server: request method=DELETE path=/v1/videos/video%0Ax status=404 ms=_ video_id="video\nx""#,
            r#"INFO video_delete_host::server: request method=GET path=/v1/videos/video_1764789412_4821 status=405 ms=_ video_id="-""#,
            r#"INFO video_delete_host::server: request method=DELETE path=/v1/jobs status=404 ms=_ video_id="-""#,
        ]
    );
    let errors: Vec<String> = server
        .lines()
        .iter()
        .map(|line| without_timestamp(line).to_string())
        .filter(|line| line.starts_with("ERROR "))
        .collect();
    assert_eq!(
        errors,
        [
            r#"ERROR video_delete_host::server: request failed method=DELETE path=/v1/videos/video_1764789688_2093 video_id="video_1764789688_2093" status=500 error=Internal server error: line 2 of job.txt has id video_1764789688_2093 but only 4 of 18 fields; it lacks seconds and generate_duration, so fix or remove that line by hand"#
        ]
    );
}

#[test]
fn delete_waits_for_queue_lock() {
    let target = Job::completed("video_1764789530_7315", 1764789530);
    let kept = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(lines(&[&kept, &target]));
    queue.add_job_folder(&target.id);
    let before = queue.snapshot();
    let server = Server::start(ServerKind::Host, &queue.dir());
    let addr = server.addr();

    let queue_lock = lock::hold(&queue.job_txt_path());
    let id = target.id.clone();
    let pending = std::thread::spawn(move || client::delete_video(addr, &id));
    lock::wait_for_waiter(server.pid(), &queue.job_txt_path());

    assert_tree_eq(&queue.snapshot(), &before);
    drop(queue_lock);
    let response = pending.join().unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    let mut expected = before;
    expected.set_file("queue/job.txt", kept.line());
    expected.remove("queue/video_1764789530_7315");
    assert_tree_eq(&queue.snapshot(), &expected);
}

#[test]
fn sigterm_finishes_in_flight_request() {
    let target = Job::completed("video_1764789530_7315", 1764789530);
    let kept = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(lines(&[&kept, &target]));
    queue.add_job_folder(&target.id);
    let before = queue.snapshot();
    let mut server = Server::start(ServerKind::Host, &queue.dir());
    let addr = server.addr();

    // The held lock keeps the DELETE in flight until after the signal.
    let queue_lock = lock::hold(&queue.job_txt_path());
    let id = target.id.clone();
    let pending = std::thread::spawn(move || client::delete_video(addr, &id));
    lock::wait_for_waiter(server.pid(), &queue.job_txt_path());
    server.terminate();
    server.wait_for_line("the shutdown line", |line| {
        line.contains("shutting down after in-flight requests")
    });
    assert_tree_eq(&queue.snapshot(), &before);
    drop(queue_lock);
    let response = pending.join().unwrap();
    let status = server.wait();

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    assert_eq!(status.code(), Some(0), "{status:?}");
    let lines_after_start: Vec<String> = server
        .lines()
        .iter()
        .skip(1)
        .map(|line| {
            if is_request_line(line) {
                without_duration(line)
            } else {
                without_timestamp(line).to_string()
            }
        })
        .collect();
    assert_eq!(
        lines_after_start,
        [
            r#"INFO video_delete_host::server: shutting down after in-flight requests signal="SIGTERM""#,
            r#"INFO video_delete_host::server: request method=DELETE path=/v1/videos/video_1764789530_7315 status=200 ms=_ video_id="video_1764789530_7315""#,
            "INFO video_delete_host::server: shut down",
        ]
    );
    let mut expected = before;
    expected.set_file("queue/job.txt", kept.line());
    expected.remove("queue/video_1764789530_7315");
    assert_tree_eq(&queue.snapshot(), &expected);
}
