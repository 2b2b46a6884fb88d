//! One test per response of the HTTP contract: status, headers, exact body,
//! and the exact file system afterwards.

use crate::support::bodies;
use crate::support::client::{self, Response};
use crate::support::queue::{Job, Queue, format_line, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::assert_tree_eq;

for_each_server!(
    deletes_completed_job,
    deletes_queued_and_error_jobs,
    deletes_by_percent_encoded_id,
    query_string_is_ignored,
    processing_job_is_rejected,
    unknown_id_is_not_found,
    missing_queue_is_not_created,
    short_target_line_is_internal_error,
    non_integer_created_at_is_internal_error,
    other_methods_are_not_allowed,
    other_paths_have_no_route,
);

#[track_caller]
fn assert_json(response: &Response, status: u16, body: &str) {
    assert_eq!(response.status, status);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.text(), body);
}

fn deletes_completed_job(kind: ServerKind) {
    let first = Job::completed("video_1764789412_4821", 1764789412);
    let target = Job::completed("video_1764789530_7315", 1764789530)
        .with_seconds("10")
        .with_duration(245);
    let last = Job::completed("video_1764789688_2093", 1764789688).with_status("queued");
    let queue = Queue::with_job_txt(lines(&[&first, &target, &last]));
    queue.add_job_folder(&first.id);
    queue.add_job_folder(&target.id);
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_json(
        &response,
        200,
        r#"{"id":"video_1764789530_7315","model":"InfinteTalk","status":"deleted","progress":0,"created_at":1764789530,"seconds":"10","duration":245,"estimated_time":0,"queue_length":0,"error":"","object":"video.deleted","deleted":true}"#,
    );
    expected.set_file("queue/job.txt", lines(&[&first, &last]));
    expected.remove("queue/video_1764789530_7315");
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn deletes_queued_and_error_jobs(kind: ServerKind) {
    let queued = Job::completed("video_1764790044_8140", 1764790044)
        .with_status("queued")
        .with_duration(0);
    let failed = Job::completed("video_1764790187_3906", 1764790187)
        .with_status("error")
        .with_seconds("30")
        .with_duration(0);
    let kept = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(lines(&[&queued, &kept, &failed]));
    queue.add_job_folder(&failed.id);
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let queued_response = client::delete_video(server.addr(), &queued.id);
    let failed_response = client::delete_video(server.addr(), &failed.id);

    assert_json(&queued_response, 200, &queued.deleted_body());
    assert_json(&failed_response, 200, &failed.deleted_body());
    expected.set_file("queue/job.txt", kept.line());
    expected.remove("queue/video_1764790187_3906");
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn deletes_by_percent_encoded_id(kind: ServerKind) {
    let target = Job::completed("video 1764789412+4821", 1764789412);
    let kept = Job::completed("video_1764789530_7315", 1764789530);
    let queue = Queue::with_job_txt(lines(&[&target, &kept]));
    queue.add_job_folder(&target.id);
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), "vid%65o%201764789412+4821");

    assert_json(&response, 200, &target.deleted_body());
    expected.set_file("queue/job.txt", kept.line());
    expected.remove("queue/video 1764789412+4821");
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn query_string_is_ignored(kind: ServerKind) {
    let target = Job::completed("video_1764789412_4821", 1764789412);
    let kept = Job::completed("video_1764789530_7315", 1764789530);
    let queue = Queue::with_job_txt(lines(&[&kept, &target]));
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), "video_1764789412_4821?force=true&id=x");

    assert_json(&response, 200, &target.deleted_body());
    expected.set_file("queue/job.txt", kept.line());
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn processing_job_is_rejected(kind: ServerKind) {
    let id = "video_1764789901_5567";
    // An older completed line of the same id does not make it deletable.
    let done = Job::completed(id, 1764789901);
    let running = Job::completed(id, 1764789950)
        .with_status("processing")
        .with_duration(0);
    let other = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(lines(&[&done, &other, &running]));
    queue.add_job_folder(id);
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), id);

    assert_json(
        &response,
        400,
        r#"{"error":{"code":"400","message":"Video with id video_1764789901_5567 is processing and cannot be deleted."}}"#,
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn unknown_id_is_not_found(kind: ServerKind) {
    let kept = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(kept.line());
    queue.add_job_folder(&kept.id);
    // A folder without a line is not a job, so it stays.
    queue.add_job_folder("video_1764789999_0001");
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    // An id that is a prefix of an existing id must not match it.
    let prefix = client::delete_video(server.addr(), "video_1764789412");
    let folder_only = client::delete_video(server.addr(), "video_1764789999_0001");

    assert_json(
        &prefix,
        404,
        r#"{"error":{"code":"404","message":"Video with id video_1764789412 not found."}}"#,
    );
    assert_json(
        &folder_only,
        404,
        &bodies::not_found("video_1764789999_0001"),
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn missing_queue_is_not_created(kind: ServerKind) {
    let queue = Queue::empty();
    queue.add_job_folder("video_1764789412_4821");
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), "video_1764789412_4821");

    assert_json(
        &response,
        404,
        r#"{"error":{"code":"404","message":"Job queue is missing and video with id video_1764789412_4821 not found."}}"#,
    );
    assert!(!queue.job_txt_path().exists(), "job.txt was created");
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn short_target_line_is_internal_error(kind: ServerKind) {
    let id = "video_1764789412_4821";
    let before = Job::completed("video_1764789000_1000", 1764789000);
    let after = Job::completed("video_1764789530_7315", 1764789530);
    let short = format_line(&[id, "completed", "1764789412", "A prompt cut short"]);
    let content = format!("{}{short}{}", before.line(), after.line());
    let queue = Queue::with_job_txt(content);
    queue.add_job_folder(id);
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), id);

    assert_json(
        &response,
        500,
        r#"{"error":{"code":"500","message":"Internal server error: line 2 of job.txt has id video_1764789412_4821 but only 4 of 18 fields; it lacks seconds and generate_duration, so fix or remove that line by hand"}}"#,
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn non_integer_created_at_is_internal_error(kind: ServerKind) {
    let id = "video_1764789412_4821";
    let kept = Job::completed("video_1764789530_7315", 1764789530);
    let mut fields = Job::completed(id, 1764789412).fields();
    fields[2] = "yesterday".to_string();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let queue = Queue::with_job_txt(format!("{}{}", kept.line(), format_line(&fields)));
    queue.add_job_folder(id);
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), id);

    assert_json(
        &response,
        500,
        r#"{"error":{"code":"500","message":"Internal server error: line 2 of job.txt: created_at \"yesterday\" is not an integer"}}"#,
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn other_methods_are_not_allowed(kind: ServerKind) {
    let job = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(job.line());
    queue.add_job_folder(&job.id);
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    for method in ["GET", "POST", "PUT", "PATCH", "OPTIONS", "PURGE"] {
        let response = client::request(server.addr(), method, "/v1/videos/video_1764789412_4821");

        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("DELETE"), "{method}");
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{method}"
        );
        assert_eq!(
            response.text(),
            bodies::method_not_allowed(method, "/v1/videos/video_1764789412_4821"),
        );
    }
    let query = client::request(server.addr(), "GET", "/v1/videos/x?y=z");
    assert_json(
        &query,
        405,
        r#"{"error":{"code":"405","message":"Method GET is not allowed on /v1/videos/x; use DELETE."}}"#,
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn other_paths_have_no_route(kind: ServerKind) {
    let job = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(job.line());
    queue.add_job_folder(&job.id);
    let expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let cases = [
        ("/", "/"),
        ("/v1/videos", "/v1/videos"),
        ("/v1/videos/", "/v1/videos/"),
        ("/v1/videos/?id=video_1764789412_4821", "/v1/videos/"),
        (
            "/v1/videos/video_1764789412_4821/",
            "/v1/videos/video_1764789412_4821/",
        ),
        (
            "/v1/videos/video_1764789412_4821/content",
            "/v1/videos/video_1764789412_4821/content",
        ),
        (
            "/v1/videos//video_1764789412_4821",
            "/v1/videos//video_1764789412_4821",
        ),
        (
            "/v2/videos/video_1764789412_4821",
            "/v2/videos/video_1764789412_4821",
        ),
        (
            "/V1/videos/video_1764789412_4821",
            "/V1/videos/video_1764789412_4821",
        ),
    ];
    for (target, path) in cases {
        for method in ["DELETE", "GET"] {
            let response = client::request(server.addr(), method, target);

            assert_eq!(response.status, 404, "{method} {target}");
            assert_eq!(response.header("allow"), None, "{method} {target}");
            assert_eq!(
                response.header("content-type"),
                Some("application/json"),
                "{method} {target}"
            );
            assert_eq!(
                response.text(),
                bodies::unknown_route(path),
                "{method} {target}"
            );
        }
    }
    assert_json(
        &client::request(server.addr(), "DELETE", "/v1/videos"),
        404,
        r#"{"error":{"code":"404","message":"No route for /v1/videos; the only route is DELETE /v1/videos/{video_id}."}}"#,
    );
    assert_tree_eq(&queue.snapshot(), &expected);
}
