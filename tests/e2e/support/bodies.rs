//! The exact response bodies that the service sends, written out by hand so
//! that a change in field order, spacing or wording fails a test.

/// Formats the body of a successful delete, in the field order the service
/// emits.
pub fn deleted(id: &str, created_at: i64, seconds: &str, duration: i64) -> String {
    format!(
        concat!(
            r#"{{"id":"{id}","model":"InfinteTalk","status":"deleted","progress":0,"#,
            r#""created_at":{created_at},"seconds":"{seconds}","duration":{duration},"#,
            r#""estimated_time":0,"queue_length":0,"error":"","object":"video.deleted","#,
            r#""deleted":true}}"#,
        ),
        id = id,
        created_at = created_at,
        seconds = seconds,
        duration = duration,
    )
}

/// Formats the error envelope for `code`. `message` is inserted as written, so any
/// character that JSON escapes must already be escaped in it.
pub fn error(code: u16, message: &str) -> String {
    format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#)
}

/// Formats the 404 body for an id with no line in `job.txt`.
pub fn not_found(id: &str) -> String {
    error(404, &format!("Video with id {id} not found."))
}

/// Formats the 405 body for `method` on `path`.
pub fn method_not_allowed(method: &str, path: &str) -> String {
    error(
        405,
        &format!("Method {method} is not allowed on {path}; use DELETE."),
    )
}

/// Formats the 404 body for a path outside `/v1/videos/{video_id}`.
pub fn unknown_route(path: &str) -> String {
    error(
        404,
        &format!("No route for {path}; the only route is DELETE /v1/videos/{{video_id}}."),
    )
}
