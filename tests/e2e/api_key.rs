//! The API key: the host rejects a key file it cannot use at start-up, and
//! with a key set every request without exactly one
//! `Authorization: Bearer <key>` gets 401 and changes nothing. The host
//! reads the key from `--api-key-file`, and `wasmtime serve` passes it to
//! the component as `--env API_KEY=<key>`.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use crate::support::client::{self, Response};
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind, host_command, run_to_exit, without_timestamp};
use crate::support::tree::{assert_tree_eq, differences};

for_each_server!(wrong_authorization_is_unauthorized, right_key_deletes_job);

/// Every credential that the tests send starts with this, so one search
/// of the output finds any of them.
const KEY_PREFIX: &str = "sk-e2e-";

const KEY: &str = "sk-e2e-7Qm4xV9pL2";

/// `api:sk-e2e-7Qm4xV9pL2` in base64, the key as a Basic password.
const KEY_AS_BASIC_PASSWORD: &str = "YXBpOnNrLWUyZS03UW00eFY5cEwy";

const UNAUTHORIZED: &str = r#"{"error":{"code":"401","message":"Missing or invalid API key."}}"#;

const TARGET_ID: &str = "video_1764789412_4821";

const KEPT_ID: &str = "video_1764789530_7315";

/// What the host logs once per request, before its fields.
const REQUEST_LOG: &str = "INFO video_delete_host::server: request ";

/// Starts a server of `kind` on `queue` that requires [`KEY`]. The host
/// reads it from a file beside the queue directory, written with the
/// surrounding whitespace that the host ignores.
fn start_with_key(kind: ServerKind, queue: &Queue) -> Server {
    match kind {
        ServerKind::Host => {
            let key_file = queue.root().join("api-key");
            fs::write(&key_file, format!("  {KEY}\n")).unwrap();
            Server::start_host_with_args(
                &queue.dir(),
                &[OsStr::new("--api-key-file"), key_file.as_os_str()],
            )
        }
        ServerKind::WasmtimeServe => {
            Server::start_wasmtime_serve_with_env(&queue.dir(), &[("API_KEY", KEY)])
        }
    }
}

/// Sends `{method} {target}` with `headers` (each ending in CRLF) on a new
/// connection.
fn send(server: &Server, method: &str, target: &str, headers: &str) -> Response {
    let raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    client::send_raw(server.addr(), raw.as_bytes())
}

fn two_job_queue() -> (Queue, Job, Job) {
    let target = Job::completed(TARGET_ID, 1764789412);
    let kept = Job::completed(KEPT_ID, 1764789530);
    let queue = Queue::with_job_txt(lines(&[&target, &kept]));
    queue.add_job_folder(TARGET_ID);
    queue.add_job_folder(KEPT_ID);
    (queue, target, kept)
}

/// Requests that lack exactly one `Authorization: Bearer <key>` header:
/// a label, the method, the target and the header lines.
fn unauthorized_requests() -> Vec<(&'static str, &'static str, String, String)> {
    let target = format!("/v1/videos/{TARGET_ID}");
    let truncated = &KEY[..KEY.len() - 1];
    let authorization = |value: &str| format!("Authorization: {value}\r\n");
    let cases = [
        ("no Authorization", String::new()),
        ("wrong key", authorization("Bearer sk-e2e-wrong")),
        (
            "upper-case key",
            authorization(&format!("Bearer {}", KEY.to_uppercase())),
        ),
        (
            "Basic with the key as password",
            authorization(&format!("Basic {KEY_AS_BASIC_PASSWORD}")),
        ),
        ("Basic with the key", authorization(&format!("Basic {KEY}"))),
        (
            "character appended",
            authorization(&format!("Bearer {KEY}x")),
        ),
        (
            "character prepended",
            authorization(&format!("Bearer x{KEY}")),
        ),
        (
            "truncated key",
            authorization(&format!("Bearer {truncated}")),
        ),
        ("key without scheme", authorization(KEY)),
        (
            "two spaces after Bearer",
            authorization(&format!("Bearer  {KEY}")),
        ),
        ("Bearer without key", authorization("Bearer")),
        ("empty Authorization", authorization("")),
        (
            "two keys in one header",
            authorization(&format!("Bearer {KEY}, Bearer {KEY}")),
        ),
        (
            "two headers, right then wrong",
            format!("Authorization: Bearer {KEY}\r\nAuthorization: Bearer sk-e2e-wrong\r\n"),
        ),
        (
            "two headers, wrong then right",
            format!("Authorization: Bearer sk-e2e-wrong\r\nAuthorization: Bearer {KEY}\r\n"),
        ),
        (
            "two headers, both right",
            format!("Authorization: Bearer {KEY}\r\nAuthorization: Bearer {KEY}\r\n"),
        ),
        (
            "key in Proxy-Authorization",
            format!("Proxy-Authorization: Bearer {KEY}\r\n"),
        ),
        ("key in X-Api-Key", format!("X-Api-Key: {KEY}\r\n")),
    ];
    let mut requests: Vec<_> = cases
        .into_iter()
        .map(|(label, headers)| (label, "DELETE", target.clone(), headers))
        .collect();
    // The key is checked before the route, so without it no request learns
    // which paths and methods exist.
    requests.push(("GET without a key", "GET", target.clone(), String::new()));
    requests.push((
        "unknown path without a key",
        "DELETE",
        "/v1/jobs".to_string(),
        String::new(),
    ));
    requests
}

/// Returns every captured output line of `server` that contains a
/// credential the tests send.
fn lines_with_credentials(server: &Server) -> Vec<String> {
    server
        .lines()
        .into_iter()
        .filter(|line| line.contains(KEY_PREFIX))
        .collect()
}

/// Waits until the host has logged `count` requests, so that a scan of its
/// output includes every request line. `wasmtime serve` logs no requests.
fn wait_for_request_logs(kind: ServerKind, server: &Server, count: usize) {
    if kind == ServerKind::Host {
        server.wait_for_lines("the request lines", count, |line| {
            without_timestamp(line).starts_with(REQUEST_LOG)
        });
    }
}

fn wrong_authorization_is_unauthorized(kind: ServerKind) {
    let (queue, _, _) = two_job_queue();
    let server = start_with_key(kind, &queue);
    let expected = queue.snapshot();
    let requests = unauthorized_requests();

    for (label, method, target, headers) in &requests {
        let response = send(&server, method, target, headers);

        assert_eq!(response.status, 401, "{label}: status");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer"),
            "{label}: www-authenticate"
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{label}: content-type"
        );
        assert_eq!(response.text(), UNAUTHORIZED, "{label}: body");
        let changed = differences(&queue.snapshot(), &expected);
        assert!(
            changed.is_empty(),
            "{label}: the file system changed:\n  {}",
            changed.join("\n  ")
        );
    }
    wait_for_request_logs(kind, &server, requests.len());
    assert_eq!(lines_with_credentials(&server), Vec::<String>::new());
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn right_key_deletes_job(kind: ServerKind) {
    let (queue, target, kept) = two_job_queue();
    let server = start_with_key(kind, &queue);
    let mut expected = queue.snapshot();

    let first = send(
        &server,
        "DELETE",
        &format!("/v1/videos/{TARGET_ID}"),
        &format!("Authorization: Bearer {KEY}\r\n"),
    );
    // Header names are case-insensitive, and the whitespace around a value
    // is not part of it.
    let second = send(
        &server,
        "DELETE",
        &format!("/v1/videos/{KEPT_ID}"),
        &format!("authorization: \t Bearer {KEY} \t\r\n"),
    );

    assert_eq!(first.status, 200);
    assert_eq!(first.header("www-authenticate"), None);
    assert_eq!(first.text(), target.deleted_body());
    assert_eq!(second.status, 200);
    assert_eq!(second.text(), kept.deleted_body());
    assert!(!first.text().contains(KEY_PREFIX));
    expected.set_file("queue/job.txt", "");
    expected.remove(format!("queue/{TARGET_ID}"));
    expected.remove(format!("queue/{KEPT_ID}"));
    assert_tree_eq(&queue.snapshot(), &expected);
    wait_for_request_logs(kind, &server, 2);
    assert_eq!(lines_with_credentials(&server), Vec::<String>::new());
}

/// Runs `serve` with `--api-key-file key_file` to its exit and checks that
/// it failed with exactly `expected_error` and never served.
#[track_caller]
fn assert_serve_rejects_key_file(queue: &Queue, key_file: &Path, expected_error: &str) {
    let mut serve = host_command();
    serve
        .arg("serve")
        .arg("--video-dir")
        .arg(queue.dir())
        .args(["--listen", "127.0.0.1:0", "--api-key-file"])
        .arg(key_file);
    let finished = run_to_exit(serve);

    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    let errors: Vec<&str> = finished
        .stderr
        .lines()
        .map(without_timestamp)
        .filter(|line| line.starts_with("ERROR "))
        .collect();
    assert_eq!(errors, [expected_error], "{}", key_file.display());
    assert!(
        !finished.stderr.contains("serving DELETE"),
        "the host reported that it serves: {}",
        finished.stderr
    );
    assert_eq!(finished.stdout, b"");
}

#[test]
fn unreadable_key_file_is_rejected() {
    let queue = Queue::with_job_txt(Job::completed(TARGET_ID, 1764789412).line());
    let missing = queue.root().join("no-such-key");
    let directory = queue.outside();
    let expected = queue.snapshot();

    assert_serve_rejects_key_file(
        &queue,
        &missing,
        &format!(
            "ERROR video_delete_host: failed to read API key file {}; pass --api-key-file with \
             a readable file: No such file or directory (os error 2)",
            missing.display()
        ),
    );
    assert_serve_rejects_key_file(
        &queue,
        &directory,
        &format!(
            "ERROR video_delete_host: failed to read API key file {}; pass --api-key-file with \
             a readable file: Is a directory (os error 21)",
            directory.display()
        ),
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

#[test]
fn empty_key_file_is_rejected() {
    let queue = Queue::with_job_txt(Job::completed(TARGET_ID, 1764789412).line());
    let empty = queue.root().join("empty-key");
    let blank = queue.root().join("blank-key");
    fs::write(&empty, "").unwrap();
    fs::write(&blank, " \t\r\n \n").unwrap();
    let expected = queue.snapshot();

    for key_file in [&empty, &blank] {
        assert_serve_rejects_key_file(
            &queue,
            key_file,
            &format!(
                "ERROR video_delete_host: API key file {} is empty; write the key into it or \
                 omit --api-key-file",
                key_file.display()
            ),
        );
    }
    assert_tree_eq(&queue.snapshot(), &expected);
}
