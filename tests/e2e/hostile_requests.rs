//! Hostile requests, sent as raw bytes. Each gets a JSON 4xx from the
//! component or hyper's own empty 400, 414 or 431. None of them changes a
//! byte of the queue directory or of the directories beside it, although
//! `job.txt` has a completed line for every unsafe id the requests name.
//!
//! Both servers parse HTTP with hyper: the host with the hyper of this
//! workspace's `Cargo.lock`, `wasmtime serve` 48.0.8 with hyper 1.9.0.

use std::fs;

use crate::support::exchange::{Received, exchange};
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::{Tree, assert_tree_eq, differences};
use crate::support::{assert_bytes_eq, bodies, client};

for_each_server!(hostile_requests_change_nothing);

/// A completed job with a folder, deleted once the table has run.
const REAL_ID: &str = "video_1764789412_4821";

/// A job in status `processing`, so a DELETE of it returns 400.
const PROCESSING_ID: &str = "video_1764789901_5567";

/// Ids with a completed line in `job.txt`, so that only the checks of the
/// server and the component keep a request from deleting them. They cover
/// path traversal, the queue's own files, separators, control characters,
/// and what a lossy UTF-8 decoding of an overlong encoding would give.
const LISTED_IDS: [&str; 14] = [
    "..",
    ".",
    "job.txt",
    ".video-delete.lock",
    ".video-delete.backup",
    "../outside",
    "../../etc",
    "/",
    "\\",
    "..\\outside",
    "a\0b",
    "a\rb",
    "\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
    "..\u{fffd}\u{fffd}outside",
];

/// Every header name that a response may carry, so that a header injected
/// through an id shows up as an unexpected name.
const RESPONSE_HEADERS: [&str; 6] = [
    "allow",
    "connection",
    "content-length",
    "content-type",
    "date",
    "transfer-encoding",
];

/// Bytes in 1 MiB.
const MIB: usize = 1 << 20;

/// Builds an id of 60 KiB, which reaches the component because hyper's
/// maximum request target is 65,534 bytes (`MAX_URI_LEN` in 1.9.0 and
/// 1.13.0).
fn id_of_60_kib() -> String {
    format!("video_{}", "7".repeat(60 * 1024 - 6))
}

/// One expected response.
struct Expected {
    version: &'static str,
    status: u16,
    /// The JSON body of a response from the component, or `None` for a
    /// response that hyper sends itself: an empty body and a closed
    /// connection.
    body: Option<String>,
}

/// Builds the expected response of the component to an HTTP/1.1 request.
fn component(status: u16, body: String) -> Expected {
    Expected {
        version: "HTTP/1.1",
        status,
        body: Some(body),
    }
}

/// Builds the expected response of the component to an HTTP/1.0 request.
fn component_http_1_0(status: u16, body: String) -> Expected {
    Expected {
        version: "HTTP/1.0",
        status,
        body: Some(body),
    }
}

/// Builds the expected response that hyper sends itself for a request it
/// cannot parse or accept.
fn rejected(status: u16) -> Expected {
    Expected {
        version: "HTTP/1.1",
        status,
        body: None,
    }
}

fn processing_body() -> String {
    bodies::error(
        400,
        &format!("Video with id {PROCESSING_ID} is processing and cannot be deleted."),
    )
}

/// A request of the table and every response it must get, in order. An
/// empty list means the server closes the connection without a response.
struct Case {
    label: String,
    request: Vec<u8>,
    responses: Vec<Expected>,
}

impl Case {
    fn new(label: &str, request: Vec<u8>, responses: Vec<Expected>) -> Case {
        Case {
            label: label.to_string(),
            request,
            responses,
        }
    }
}

/// Builds `{method} {target} HTTP/1.1` with Host, `headers` (each ending in
/// CRLF) and `Connection: close`, followed by `body`.
fn request(method: &str, target: &[u8], headers: &str, body: &[u8]) -> Vec<u8> {
    [
        method.as_bytes(),
        b" ",
        target,
        b" HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        headers.as_bytes(),
        b"Connection: close\r\n\r\n",
        body,
    ]
    .concat()
}

/// Builds a DELETE of `target` with no body that closes the connection.
fn delete(target: &[u8]) -> Vec<u8> {
    request("DELETE", target, "", b"")
}

/// Builds a DELETE of `target` with no body that keeps the connection open
/// for a pipelined request after it.
fn delete_keep_alive(target: &[u8]) -> Vec<u8> {
    [b"DELETE ", target, b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"].concat()
}

/// Builds `count` header lines `X-Filler-N: 1`.
fn filler_headers(count: usize) -> String {
    (0..count).map(|n| format!("X-Filler-{n}: 1\r\n")).collect()
}

/// Builds the request target for the id segment `segment`.
fn videos(segment: &str) -> Vec<u8> {
    format!("/v1/videos/{segment}").into_bytes()
}

fn not_found(id: &str) -> Expected {
    component(404, bodies::not_found(id))
}

fn traversal_cases() -> Vec<Case> {
    vec![
        Case::new("%2e%2e", delete(&videos("%2e%2e")), vec![not_found("..")]),
        Case::new(
            "%2E%2E%2F",
            delete(&videos("%2E%2E%2F")),
            vec![not_found("../")],
        ),
        Case::new("%2F", delete(&videos("%2F")), vec![not_found("/")]),
        Case::new(
            "..%2F..%2Fetc",
            delete(&videos("..%2F..%2Fetc")),
            vec![not_found("../../etc")],
        ),
        Case::new(
            ".%2e%2Foutside",
            delete(&videos(".%2e%2Foutside")),
            vec![not_found("../outside")],
        ),
        // Decoded once, as the component does, these are ids without a
        // line; decoded twice they would be `/`, `..` and `../outside`.
        Case::new("%252F", delete(&videos("%252F")), vec![not_found("%2F")]),
        Case::new(
            "%252e%252e",
            delete(&videos("%252e%252e")),
            vec![not_found("%2e%2e")],
        ),
        Case::new(
            "..%252Foutside",
            delete(&videos("..%252Foutside")),
            vec![not_found("..%2Foutside")],
        ),
        // Overlong UTF-8 for `.` and `/` is invalid UTF-8, reported with
        // replacement characters but never looked up as such.
        Case::new(
            "%c0%ae%c0%ae",
            delete(&videos("%c0%ae%c0%ae")),
            vec![not_found("\u{fffd}\u{fffd}\u{fffd}\u{fffd}")],
        ),
        Case::new(
            "..%c0%afoutside",
            delete(&videos("..%c0%afoutside")),
            vec![not_found("..\u{fffd}\u{fffd}outside")],
        ),
        Case::new("%5C", delete(&videos("%5C")), vec![not_found(r"\\")]),
        Case::new(
            "..%5C..%5Coutside",
            delete(&videos("..%5C..%5Coutside")),
            vec![not_found(r"..\\..\\outside")],
        ),
        Case::new(
            "raw backslash ..\\outside",
            delete(b"/v1/videos/..\\outside"),
            vec![not_found(r"..\\outside")],
        ),
        // Fullwidth full stops and solidus are ordinary characters, so this
        // is a valid id that has no line.
        Case::new(
            "fullwidth %EF%BC%8E%EF%BC%8E%EF%BC%8Foutside",
            delete(&videos("%EF%BC%8E%EF%BC%8E%EF%BC%8Foutside")),
            vec![not_found("\u{ff0e}\u{ff0e}\u{ff0f}outside")],
        ),
        // hyper does not normalize dot segments, so these paths have more
        // than one segment after the route prefix.
        Case::new(
            "dot segments /v1/videos/../../etc/passwd",
            delete(b"/v1/videos/../../etc/passwd"),
            vec![component(
                404,
                bodies::unknown_route("/v1/videos/../../etc/passwd"),
            )],
        ),
    ]
}

fn listed_id_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = [
        "..",
        ".",
        "job.txt",
        ".video-delete.lock",
        ".video-delete.backup",
    ]
    .into_iter()
    .map(|id| {
        Case::new(
            &format!("listed id {id}"),
            delete(&videos(id)),
            vec![not_found(id)],
        )
    })
    .collect();
    cases.push(Case::new(
        "processing job",
        delete(&videos(PROCESSING_ID)),
        vec![component(400, processing_body())],
    ));
    cases
}

fn control_character_cases() -> Vec<Case> {
    vec![
        Case::new("raw NUL", delete(b"/v1/videos/a\0b"), vec![rejected(400)]),
        Case::new(
            "raw 0x01",
            delete(b"/v1/videos/a\x01b"),
            vec![rejected(400)],
        ),
        Case::new("raw DEL", delete(b"/v1/videos/a\x7fb"), vec![rejected(400)]),
        Case::new("raw CR", delete(b"/v1/videos/a\rb"), vec![rejected(400)]),
        Case::new("raw tab", delete(b"/v1/videos/a\tb"), vec![rejected(400)]),
        Case::new(
            "%00",
            delete(&videos("a%00b")),
            vec![not_found(r"a\u0000b")],
        ),
        Case::new("%0D", delete(&videos("a%0Db")), vec![not_found(r"a\rb")]),
        Case::new(
            "header injection %0D%0A",
            delete(&videos("a%0D%0AX-Injected:%201")),
            vec![not_found(r"a\r\nX-Injected: 1")],
        ),
        Case::new(
            "NUL in a header value",
            request("DELETE", &videos(".."), "X-Note: a\0b\r\n", b""),
            vec![rejected(400)],
        ),
        Case::new(
            "CR in a header value",
            request("DELETE", &videos(".."), "X-Note: a\rb\r\n", b""),
            vec![rejected(400)],
        ),
    ]
}

fn invalid_utf8_cases() -> Vec<Case> {
    vec![
        Case::new(
            "raw 0xff",
            delete(b"/v1/videos/a\xffb"),
            vec![rejected(400)],
        ),
        Case::new("raw 0x80", delete(b"/v1/videos/\x80"), vec![rejected(400)]),
        Case::new(
            "raw overlong 0xc0 0xae",
            delete(b"/v1/videos/\xc0\xae\xc0\xae"),
            vec![rejected(400)],
        ),
        Case::new(
            "raw valid UTF-8",
            delete("/v1/videos/a\u{e9}b".as_bytes()),
            vec![not_found("a\u{e9}b")],
        ),
    ]
}

fn size_cases() -> Vec<Case> {
    let id = id_of_60_kib();
    vec![
        Case::new(
            "64 KiB id",
            delete(&videos(&"7".repeat(64 * 1024))),
            vec![rejected(414)],
        ),
        Case::new("60 KiB id", delete(&videos(&id)), vec![not_found(&id)]),
        // hyper reads at most 417,792 bytes (8,192 + 4,096 × 100) of a head,
        // so a request line of 1 MiB is too large a head before it is a
        // target that is too long.
        Case::new(
            "1 MiB request line",
            delete(&videos(&"7".repeat(MIB))),
            vec![rejected(431)],
        ),
        Case::new(
            "1 MiB header",
            request(
                "DELETE",
                &videos(".."),
                &format!("X-Padding: {}\r\n", "p".repeat(MIB)),
                b"",
            ),
            vec![rejected(431)],
        ),
        // hyper accepts at most 100 header lines; Host and Connection are
        // two of them.
        Case::new(
            "100 header lines",
            request("DELETE", &videos("job.txt"), &filler_headers(98), b""),
            vec![not_found("job.txt")],
        ),
        Case::new(
            "101 header lines",
            request("DELETE", &videos("job.txt"), &filler_headers(99), b""),
            vec![rejected(431)],
        ),
        Case::new(
            "10000 header lines",
            request("DELETE", &videos("job.txt"), &filler_headers(10_000), b""),
            vec![rejected(431)],
        ),
        Case::new(
            "60 KiB method",
            request(&"X".repeat(60 * 1024), &videos("x"), "", b""),
            vec![component(
                405,
                bodies::method_not_allowed(&"X".repeat(60 * 1024), "/v1/videos/x"),
            )],
        ),
    ]
}

fn body_cases() -> Vec<Case> {
    vec![
        Case::new(
            "Content-Length body",
            request(
                "DELETE",
                &videos("%2e%2e"),
                "Content-Length: 10\r\n",
                b"../outside",
            ),
            vec![not_found("..")],
        ),
        Case::new(
            "chunked body",
            request(
                "DELETE",
                &videos("%2e%2e"),
                "Transfer-Encoding: chunked\r\n",
                b"a\r\n../outside\r\n0\r\n\r\n",
            ),
            vec![not_found("..")],
        ),
        Case::new(
            "1 MiB body",
            request(
                "DELETE",
                &videos("job.txt"),
                &format!("Content-Length: {MIB}\r\n"),
                &vec![b'b'; MIB],
            ),
            vec![not_found("job.txt")],
        ),
        // The component never reads the body, so it responds before the
        // missing bytes would arrive.
        Case::new(
            "Content-Length beyond the bytes sent",
            request(
                "DELETE",
                &videos("job.txt"),
                "Content-Length: 1000000\r\n",
                b"short",
            ),
            vec![not_found("job.txt")],
        ),
        Case::new(
            "invalid chunk size",
            request(
                "DELETE",
                &videos("job.txt"),
                "Transfer-Encoding: chunked\r\n",
                b"zz\r\nhello\r\n0\r\n\r\n",
            ),
            vec![not_found("job.txt")],
        ),
        Case::new(
            "Transfer-Encoding with Content-Length",
            request(
                "DELETE",
                &videos("job.txt"),
                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\n",
            ),
            vec![not_found("job.txt")],
        ),
        Case::new(
            "two different Content-Length",
            request(
                "DELETE",
                &videos("job.txt"),
                "Content-Length: 1\r\nContent-Length: 2\r\n",
                b"ab",
            ),
            vec![rejected(400)],
        ),
        Case::new(
            "negative Content-Length",
            request("DELETE", &videos("job.txt"), "Content-Length: -1\r\n", b""),
            vec![rejected(400)],
        ),
        Case::new(
            "Transfer-Encoding gzip",
            request(
                "DELETE",
                &videos("job.txt"),
                "Transfer-Encoding: gzip\r\n",
                b"",
            ),
            vec![rejected(400)],
        ),
        Case::new(
            "Transfer-Encoding chunked, identity",
            request(
                "DELETE",
                &videos("job.txt"),
                "Transfer-Encoding: chunked, identity\r\n",
                b"0\r\n\r\n",
            ),
            vec![rejected(400)],
        ),
        Case::new(
            "space before colon in Transfer-Encoding",
            request(
                "DELETE",
                &videos("job.txt"),
                "Transfer-Encoding : chunked\r\n",
                b"0\r\n\r\n",
            ),
            vec![rejected(400)],
        ),
    ]
}

fn version_cases() -> Vec<Case> {
    vec![
        Case::new(
            "HTTP/1.0 with Host",
            b"DELETE /v1/videos/%2e%2e HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
            vec![component_http_1_0(404, bodies::not_found(".."))],
        ),
        Case::new(
            "HTTP/1.0 with Host, processing job",
            format!("DELETE /v1/videos/{PROCESSING_ID} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                .into_bytes(),
            vec![component_http_1_0(400, processing_body())],
        ),
        Case::new(
            "HTTP/1.0 with Transfer-Encoding",
            b"DELETE /v1/videos/job.txt HTTP/1.0\r\nHost: 127.0.0.1\r\n\
              Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            vec![rejected(400)],
        ),
        Case::new(
            "HTTP/2.0 request line",
            b"DELETE /v1/videos/job.txt HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
            vec![rejected(400)],
        ),
        Case::new(
            "request line without a version",
            b"DELETE /v1/videos/job.txt\r\n\r\n".to_vec(),
            vec![rejected(400)],
        ),
        // hyper 1.9.0 and 1.13.0 (`Conn::on_parse_error`) close the
        // connection without a response when the bytes start with the
        // HTTP/2 connection preface.
        Case::new(
            "HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            vec![],
        ),
        Case::new(
            "bare LF line endings",
            b"DELETE /v1/videos/%2e%2e HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n".to_vec(),
            vec![not_found("..")],
        ),
        Case::new(
            "obsolete line folding",
            request("DELETE", &videos(".."), "X-Note: a\r\n b\r\n", b""),
            vec![rejected(400)],
        ),
        Case::new(
            "header line without a colon",
            request("DELETE", &videos(".."), "no colon here\r\n", b""),
            vec![rejected(400)],
        ),
    ]
}

fn pipelined_cases() -> Vec<Case> {
    vec![
        Case::new(
            "two pipelined DELETEs",
            [delete_keep_alive(&videos("..")), delete(&videos("job.txt"))].concat(),
            vec![not_found(".."), not_found("job.txt")],
        ),
        Case::new(
            "three pipelined DELETEs",
            [
                delete_keep_alive(&videos(PROCESSING_ID)),
                delete_keep_alive(&videos(".video-delete.lock")),
                delete(&videos("%2e")),
            ]
            .concat(),
            vec![
                component(400, processing_body()),
                not_found(".video-delete.lock"),
                not_found("."),
            ],
        ),
        Case::new(
            "pipelined after a Content-Length body",
            [
                b"DELETE /v1/videos/%2e%2e HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                  Content-Length: 5\r\n\r\nhello"
                    .as_slice(),
                &delete(&videos("%2F")),
            ]
            .concat(),
            vec![not_found(".."), not_found("/")],
        ),
        Case::new(
            "pipelined after a chunked body",
            [
                b"DELETE /v1/videos/%2e%2e HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                  Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                    .as_slice(),
                &delete(&videos("%5C")),
            ]
            .concat(),
            vec![not_found(".."), not_found(r"\\")],
        ),
        Case::new(
            "pipelined GET, FROB and DELETE",
            [
                b"GET /v1/videos/.. HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".as_slice(),
                b"FROB /v1/videos/job.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                &delete(&videos(".")),
            ]
            .concat(),
            vec![
                component(405, bodies::method_not_allowed("GET", "/v1/videos/..")),
                component(
                    405,
                    bodies::method_not_allowed("FROB", "/v1/videos/job.txt"),
                ),
                not_found("."),
            ],
        ),
        Case::new(
            "HTTP/2 preface after a DELETE",
            [
                delete_keep_alive(&videos("..")),
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            ]
            .concat(),
            vec![not_found("..")],
        ),
    ]
}

fn target_form_cases() -> Vec<Case> {
    vec![
        Case::new(
            "absolute form with ..%2Foutside",
            delete(b"http://127.0.0.1/v1/videos/..%2Foutside"),
            vec![not_found("../outside")],
        ),
        Case::new(
            "absolute form, processing job",
            delete(format!("http://127.0.0.1/v1/videos/{PROCESSING_ID}").as_bytes()),
            vec![component(400, processing_body())],
        ),
        Case::new(
            "absolute form with user info",
            delete(b"http://user:password@127.0.0.1/v1/videos/job.txt"),
            vec![not_found("job.txt")],
        ),
        Case::new(
            "absolute form with dot segments",
            delete(b"http://127.0.0.1/v1/videos/../outside"),
            vec![component(
                404,
                bodies::unknown_route("/v1/videos/../outside"),
            )],
        ),
        Case::new(
            "authority form",
            delete(b"127.0.0.1:1"),
            vec![component(404, bodies::unknown_route(""))],
        ),
        Case::new(
            "asterisk form",
            delete(b"*"),
            vec![component(404, bodies::unknown_route("*"))],
        ),
    ]
}

fn method_cases() -> Vec<Case> {
    vec![
        Case::new(
            "unknown method FROB",
            request("FROB", &videos(".."), "", b""),
            vec![component(
                405,
                bodies::method_not_allowed("FROB", "/v1/videos/.."),
            )],
        ),
        Case::new(
            "lower-case delete",
            request("delete", &videos("job.txt"), "", b""),
            vec![component(
                405,
                bodies::method_not_allowed("delete", "/v1/videos/job.txt"),
            )],
        ),
        Case::new(
            "method with a separator",
            request("DE(ETE", &videos("job.txt"), "", b""),
            vec![rejected(400)],
        ),
    ]
}

fn cases() -> Vec<Case> {
    [
        traversal_cases(),
        listed_id_cases(),
        control_character_cases(),
        invalid_utf8_cases(),
        size_cases(),
        body_cases(),
        version_cases(),
        pipelined_cases(),
        target_form_cases(),
        method_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Checks every response of one case against what it must be.
#[track_caller]
fn assert_responses(case: &Case, received: &[Received]) {
    let label = &case.label;
    let statuses: Vec<u16> = received.iter().map(|reply| reply.response.status).collect();
    let expected_statuses: Vec<u16> = case.responses.iter().map(|reply| reply.status).collect();
    assert_eq!(statuses, expected_statuses, "{label}: statuses");

    for (index, (reply, expected)) in received.iter().zip(&case.responses).enumerate() {
        let context = format!("{label}, response {}", index + 1);
        let response = &reply.response;
        assert_eq!(reply.version, expected.version, "{context}: version");
        for (name, _) in &response.headers {
            assert!(
                RESPONSE_HEADERS.contains(&name.as_str()),
                "{context}: unexpected header {name}"
            );
        }
        match &expected.body {
            Some(body) => {
                assert_eq!(
                    response.header("content-type"),
                    Some("application/json"),
                    "{context}: content-type"
                );
                let allow = (expected.status == 405).then_some("DELETE");
                assert_eq!(response.header("allow"), allow, "{context}: allow");
                assert_eq!(response.text(), body, "{context}: body");
            }
            None => {
                assert_eq!(
                    response.header("content-type"),
                    None,
                    "{context}: content-type"
                );
                assert_eq!(
                    response.header("content-length"),
                    Some("0"),
                    "{context}: content-length"
                );
                assert_eq!(
                    response.header("connection"),
                    Some("close"),
                    "{context}: connection"
                );
                assert_eq!(response.body, b"", "{context}: body");
            }
        }
    }
}

/// Builds the queue of the table: the real and processing jobs with
/// folders, a line for every listed id, and the paths that a naive delete
/// of those ids would remove.
fn hostile_queue() -> (Queue, Job) {
    let real = Job::completed(REAL_ID, 1764789412);
    let processing = Job::completed(PROCESSING_ID, 1764789901).with_status("processing");
    let long_id = id_of_60_kib();
    let mut listed: Vec<Job> = LISTED_IDS
        .iter()
        .enumerate()
        .map(|(index, id)| Job::completed(id, 1764790000 + index as i64))
        .collect();
    listed.push(Job::completed(&long_id, 1764790100));

    let mut jobs = vec![&real, &processing];
    jobs.extend(listed.iter());
    let queue = Queue::with_job_txt(lines(&jobs));
    queue.add_job_folder(REAL_ID);
    queue.add_job_folder(PROCESSING_ID);
    queue.add_job_folder(".video-delete.backup");
    queue.add_job_folder("\\");
    queue.add_job_folder("..\\outside");
    fs::write(queue.outside().join("keep.txt"), "outside the queue").unwrap();
    fs::write(queue.root().join("sentinel.txt"), "beside the queue").unwrap();
    (queue, real)
}

fn hostile_requests_change_nothing(kind: ServerKind) {
    let (queue, real) = hostile_queue();
    let job_txt = queue.job_txt();
    let queue_before = Tree::read(&queue.dir());
    let outside_before = Tree::read(&queue.outside());
    let everything_before = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    for case in cases() {
        let received = exchange(server.addr(), &case.request);

        assert_responses(&case, &received);
        let changed = differences(&queue.snapshot(), &everything_before);
        assert!(
            changed.is_empty(),
            "{}: the file system changed:\n  {}",
            case.label,
            changed.join("\n  ")
        );
    }
    assert_tree_eq(&Tree::read(&queue.dir()), &queue_before);
    assert_tree_eq(&Tree::read(&queue.outside()), &outside_before);
    assert_tree_eq(&queue.snapshot(), &everything_before);

    // The server still serves, and the lines of the listed ids do not keep
    // a real delete from working.
    let response = client::delete_video(server.addr(), REAL_ID);
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), real.deleted_body());
    let real_line = real.line();
    let expected_job_txt = &job_txt[real_line.len()..];
    assert_bytes_eq(&job_txt[..real_line.len()], real_line.as_bytes());
    assert_bytes_eq(&queue.job_txt(), expected_job_txt);
    assert!(
        !queue.dir().join(REAL_ID).exists(),
        "the job folder is left"
    );
}

/// Builds a DELETE of `..` with both Content-Length and chunked coding,
/// Transfer-Encoding first when `te_first`. A DELETE of [`REAL_ID`] follows
/// the chunked body. Content-Length covers both, so a proxy that frames by
/// Content-Length would pass the hidden request on as body.
fn smuggling_request(te_first: bool) -> Vec<u8> {
    let hidden = format!(
        "DELETE /v1/videos/{REAL_ID} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let body = format!("0\r\n\r\n{hidden}");
    let content_length = format!("Content-Length: {}\r\n", body.len());
    let chunked = "Transfer-Encoding: chunked\r\n";
    let framing = if te_first {
        format!("{chunked}{content_length}")
    } else {
        format!("{content_length}{chunked}")
    };
    format!("DELETE /v1/videos/%2e%2e HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n{body}")
        .into_bytes()
}

fn smuggled_delete_is_not_run(kind: ServerKind) {
    let real = Job::completed(REAL_ID, 1764789412);
    let kept = Job::completed("video_1764789530_7315", 1764789530);
    let queue = Queue::with_job_txt(lines(&[&real, &kept]));
    queue.add_job_folder(REAL_ID);
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    for (label, te_first) in [
        ("Content-Length first", false),
        ("Transfer-Encoding first", true),
    ] {
        let received = exchange(server.addr(), &smuggling_request(te_first));

        let statuses: Vec<u16> = received.iter().map(|reply| reply.response.status).collect();
        assert_eq!(statuses, [404], "{label}: statuses");
        let response = &received[0].response;
        assert_eq!(response.text(), bodies::not_found(".."), "{label}: body");
        assert_eq!(
            response.header("connection"),
            Some("close"),
            "{label}: connection"
        );
        assert_tree_eq(&queue.snapshot(), &expected);
    }
}

/// Requests without a usable Host header. HTTP/1.0 does not require the
/// header, and an HTTP/1.1 request without it or with a value that is not
/// ASCII is a client error.
fn bad_host_header_is_not_server_error(kind: ServerKind) {
    let processing = Job::completed(PROCESSING_ID, 1764789901).with_status("processing");
    let dot_dot = Job::completed("..", 1764790000);
    let queue = Queue::with_job_txt(lines(&[&processing, &dot_dot]));
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let http_1_0 = exchange(
        server.addr(),
        format!("DELETE /v1/videos/{PROCESSING_ID} HTTP/1.0\r\n\r\n").as_bytes(),
    );
    let http_1_1 = exchange(
        server.addr(),
        b"DELETE /v1/videos/%2e%2e HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    let not_ascii = exchange(
        server.addr(),
        "DELETE /v1/videos/%2e%2e HTTP/1.1\r\nHost: caf\u{e9}\r\nConnection: close\r\n\r\n"
            .as_bytes(),
    );

    let statuses = |received: &[Received]| -> Vec<u16> {
        received.iter().map(|reply| reply.response.status).collect()
    };
    assert_eq!(statuses(&http_1_0), [400], "HTTP/1.0 without Host");
    assert_eq!(http_1_0[0].version, "HTTP/1.0");
    assert_eq!(http_1_0[0].response.text(), processing_body());
    assert_eq!(statuses(&http_1_1), [400], "HTTP/1.1 without Host");
    assert_eq!(statuses(&not_ascii), [400], "Host that is not ASCII");
    if kind == ServerKind::Host {
        let invalid_host = r#"{"error":{"code":"400","message":"Invalid request: the Host header is missing, empty or not ASCII; send Host: <address>."}}"#;
        assert_eq!(
            http_1_1[0].response.text(),
            invalid_host,
            "HTTP/1.1 without Host"
        );
        assert_eq!(
            not_ascii[0].response.text(),
            invalid_host,
            "Host that is not ASCII"
        );
    }
    assert_tree_eq(&queue.snapshot(), &expected);
}

mod smuggled_delete_is_not_run {
    #[test]
    fn host() {
        super::smuggled_delete_is_not_run(crate::support::server::ServerKind::Host);
    }

    #[test]
    #[ignore = "wasmtime serve 48.0.8 is built with hyper 1.9.0, which keeps the connection \
                open after a request with both Transfer-Encoding and Content-Length, so it \
                runs the DELETE after the chunked body"]
    fn wasmtime_serve() {
        super::smuggled_delete_is_not_run(crate::support::server::ServerKind::WasmtimeServe);
    }
}

mod bad_host_header_is_not_server_error {
    #[test]
    fn host() {
        super::bad_host_header_is_not_server_error(crate::support::server::ServerKind::Host);
    }

    #[test]
    #[ignore = "wasmtime serve 48.0.8 answers 500 with an HTML body to a request without Host \
                or with a Host that is not ASCII"]
    fn wasmtime_serve() {
        super::bad_host_header_is_not_server_error(
            crate::support::server::ServerKind::WasmtimeServe,
        );
    }
}
