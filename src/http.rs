//! The HTTP mapping: one request in, one response out, with no I/O of its
//! own, so every host and the native tests share it.
//!
//! The only route is `DELETE /v1/videos/{video_id}`. Every response body is
//! JSON; the status codes and messages come from [`DeleteError`].

use crate::{Config, DeleteError, DeletedJob};

/// The route prefix; the rest of the path is one percent-encoded segment.
pub const ROUTE_PREFIX: &str = "/v1/videos/";

/// The parts of a request that the mapping reads.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path and query, as sent.
    pub path_with_query: &'a str,
    /// Every `Authorization` header value, in order.
    pub authorization: &'a [Vec<u8>],
}

/// A response ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Maps one request to its response. `config` is the configuration or the error that
/// loading it gave; `delete` runs the delete for a decoded id.
pub fn handle(
    request: &Request,
    config: Result<Config, DeleteError>,
    delete: impl FnOnce(&Config, &str) -> Result<DeletedJob, DeleteError>,
) -> Response {
    let result = config.and_then(|config| {
        authorize(config.api_key.as_deref(), request.authorization)?;
        let id = route(request.method, request.path_with_query)?;
        delete(&config, &id)
    });
    match result {
        Ok(job) => Response {
            status: 200,
            headers: vec![json_content_type()],
            body: serde_json::to_vec(&job).expect("a deleted job always serializes"),
        },
        Err(error) => error_response(&error),
    }
}

/// Builds the response for an error, with the headers its status needs.
pub fn error_response(error: &DeleteError) -> Response {
    let mut headers = vec![json_content_type()];
    match error {
        DeleteError::MethodNotAllowed { .. } => headers.push(("allow", "DELETE".to_string())),
        DeleteError::Unauthorized => headers.push(("www-authenticate", "Bearer".to_string())),
        _ => {}
    }
    // OpenAI clients retry every 5xx unless `x-should-retry` is `false`.
    if error.status() >= 500 && !error.is_retryable() {
        headers.push(("x-should-retry", "false".to_string()));
    }
    Response {
        status: error.status(),
        headers,
        body: error.to_json(),
    }
}

/// Returns the decoded video id of a `DELETE /v1/videos/{video_id}`.
pub fn route(method: &str, path_with_query: &str) -> Result<String, DeleteError> {
    let path = path_with_query
        .split_once('?')
        .map_or(path_with_query, |(path, _)| path);
    let segment = path
        .strip_prefix(ROUTE_PREFIX)
        .filter(|segment| !segment.is_empty() && !segment.contains('/'))
        .ok_or_else(|| DeleteError::UnknownRoute {
            path: path.to_string(),
        })?;
    if method != "DELETE" {
        return Err(DeleteError::MethodNotAllowed {
            method: method.to_string(),
            path: path.to_string(),
        });
    }
    let decoded = percent_decode(segment);
    String::from_utf8(decoded).map_err(|error| DeleteError::NotFound {
        id: String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
pub fn percent_decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    decoded
}

/// Checks `Authorization: Bearer <key>` when a key is configured.
/// `authorization` holds every `Authorization` header value, in order.
pub fn authorize(api_key: Option<&str>, authorization: &[Vec<u8>]) -> Result<(), DeleteError> {
    let Some(key) = api_key else {
        return Ok(());
    };
    let [value] = authorization else {
        return Err(DeleteError::Unauthorized);
    };
    // The scheme name is case-insensitive in HTTP; the key is not.
    const SCHEME: &[u8] = b"bearer ";
    match value.split_at_checked(SCHEME.len()) {
        Some((scheme, presented))
            if scheme.eq_ignore_ascii_case(SCHEME)
                && constant_time_eq(presented, key.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(DeleteError::Unauthorized),
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut difference = (a.len() ^ b.len()) as u64;
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        difference |= u64::from(x ^ y);
    }
    // Keeps the optimizer from ending the loop at the first difference.
    std::hint::black_box(difference) == 0
}

fn json_content_type() -> (&'static str, String) {
    ("content-type", "application/json".to_string())
}

#[cfg(test)]
mod tests;
