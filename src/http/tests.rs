//! Tests of the HTTP mapping, with a stand-in for the delete so each route
//! is checked on its own; the real delete runs in the end-to-end tests.

use super::*;

fn config(api_key: Option<&str>) -> Config {
    Config {
        video_dir: "/video".into(),
        model: "InfinteTalk".into(),
        separator: b"$###$".to_vec(),
        api_key: api_key.map(str::to_string),
        durability: crate::journal::Durability::Sync,
        host_holds_flock: false,
    }
}

fn job(id: &str) -> DeletedJob {
    DeletedJob {
        id: id.to_string(),
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
}

fn call(method: &str, path: &str, authorization: &[Vec<u8>], api_key: Option<&str>) -> Response {
    let request = Request {
        method,
        path_with_query: path,
        authorization,
    };
    handle(&request, Ok(config(api_key)), |_, id| Ok(job(id)))
}

fn body(response: &Response) -> String {
    String::from_utf8(response.body.clone()).unwrap()
}

#[test]
fn delete_returns_job_body() {
    let response = call("DELETE", "/v1/videos/video_1_1000", &[], None);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers,
        vec![("content-type", "application/json".to_string())]
    );
    assert_eq!(
        body(&response),
        r#"{"id":"video_1_1000","model":"InfinteTalk","status":"deleted","progress":0,"created_at":1764790000,"seconds":"15","duration":14,"estimated_time":0,"queue_length":0,"error":"","object":"video.deleted","deleted":true}"#
    );
}

#[test]
fn segment_is_percent_decoded() {
    assert_eq!(route("DELETE", "/v1/videos/a%20b%2e").unwrap(), "a b.");
    assert_eq!(route("DELETE", "/v1/videos/%2e%2e").unwrap(), "..");
    assert_eq!(route("DELETE", "/v1/videos/a%2Fb").unwrap(), "a/b");
    assert_eq!(route("DELETE", "/v1/videos/%252F").unwrap(), "%2F");
    assert_eq!(route("DELETE", "/v1/videos/100%").unwrap(), "100%");
    assert_eq!(route("DELETE", "/v1/videos/x?force=1").unwrap(), "x");
}

#[test]
fn invalid_utf8_segment_is_not_found() {
    let error = route("DELETE", "/v1/videos/%ff").unwrap_err();
    assert_eq!(
        error,
        DeleteError::NotFound {
            id: "\u{fffd}".into()
        }
    );
}

#[test]
fn other_method_gets_405_with_allow() {
    let response = call("GET", "/v1/videos/video_1_1000", &[], None);
    assert_eq!(response.status, 405);
    assert_eq!(
        response.headers,
        vec![
            ("content-type", "application/json".to_string()),
            ("allow", "DELETE".to_string())
        ]
    );
    assert_eq!(
        body(&response),
        r#"{"error":{"code":"405","message":"Method GET is not allowed on /v1/videos/video_1_1000; use DELETE."}}"#
    );
}

#[test]
fn unknown_paths_get_404() {
    for path in [
        "/",
        "/v1/videos",
        "/v1/videos/",
        "/v1/videos/a/b",
        "/v2/videos/a",
    ] {
        let response = call("DELETE", path, &[], None);
        assert_eq!(response.status, 404, "{path}");
        let path_only = path.split('?').next().unwrap();
        assert_eq!(
            body(&response),
            format!(
                r#"{{"error":{{"code":"404","message":"No route for {path_only}; the only route is DELETE /v1/videos/{{video_id}}."}}}}"#
            ),
            "{path}"
        );
    }
}

#[test]
fn api_key_required_when_set() {
    let missing = call("DELETE", "/v1/videos/a", &[], Some("s3cret"));
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.headers,
        vec![
            ("content-type", "application/json".to_string()),
            ("www-authenticate", "Bearer".to_string())
        ]
    );
    assert_eq!(
        body(&missing),
        r#"{"error":{"code":"401","message":"Missing or invalid API key."}}"#
    );
    let wrong = call(
        "DELETE",
        "/v1/videos/a",
        &[b"Bearer s3cre".to_vec()],
        Some("s3cret"),
    );
    assert_eq!(wrong.status, 401);
    let two = call(
        "DELETE",
        "/v1/videos/a",
        &[b"Bearer s3cret".to_vec(), b"Bearer s3cret".to_vec()],
        Some("s3cret"),
    );
    assert_eq!(two.status, 401);
    let right = call(
        "DELETE",
        "/v1/videos/a",
        &[b"Bearer s3cret".to_vec()],
        Some("s3cret"),
    );
    assert_eq!(right.status, 200);
    for scheme in ["bearer", "BEARER"] {
        let value = format!("{scheme} s3cret").into_bytes();
        let response = call("DELETE", "/v1/videos/a", &[value], Some("s3cret"));
        assert_eq!(response.status, 200, "{scheme}");
    }
    let upper_key = call(
        "DELETE",
        "/v1/videos/a",
        &[b"Bearer S3CRET".to_vec()],
        Some("s3cret"),
    );
    assert_eq!(upper_key.status, 401);
}

#[test]
fn api_key_never_echoed() {
    let response = call(
        "DELETE",
        "/v1/videos/a",
        &[b"Bearer guess".to_vec()],
        Some("s3cret"),
    );
    assert!(!body(&response).contains("s3cret"));
    assert!(!body(&response).contains("guess"));
}

#[test]
fn config_error_is_500() {
    let request = Request {
        method: "DELETE",
        path_with_query: "/v1/videos/a",
        authorization: &[],
    };
    let response = handle(
        &request,
        Err(DeleteError::internal("VIDEO_DIR is not set")),
        |_, id| Ok(job(id)),
    );
    assert_eq!(response.status, 500);
    assert_eq!(
        body(&response),
        r#"{"error":{"code":"500","message":"Internal server error: VIDEO_DIR is not set"}}"#
    );
}

#[test]
fn constant_time_eq_compares_bytes() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
    assert!(!constant_time_eq(b"", b"a"));
    assert!(constant_time_eq(b"", b""));
}

#[test]
fn internal_error_is_not_retried() {
    let response = error_response(&DeleteError::internal("disk failed"));
    assert_eq!(response.status, 500);
    assert_eq!(
        response.headers,
        vec![
            ("content-type", "application/json".to_string()),
            ("x-should-retry", "false".to_string())
        ]
    );
}

#[test]
fn locked_queue_may_be_retried() {
    let error = DeleteError::Locked {
        lock_file: "/video/.video-delete.lock".into(),
        seconds: 10,
    };
    let response = error_response(&error);
    assert_eq!(response.status, 500);
    assert_eq!(
        response.headers,
        vec![("content-type", "application/json".to_string())]
    );
    assert_eq!(
        body(&response),
        r#"{"error":{"code":"500","message":"Internal server error: the job queue is locked by another delete (/video/.video-delete.lock held for over 10 s); retry"}}"#
    );
}
