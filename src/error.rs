//! The one error type of the component, and the only source of HTTP status
//! codes and error messages.
//!
//! The messages of the delete failures are the ones the existing video
//! service returns, so clients written against it keep working.

use thiserror::Error;

/// The reason a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeleteError {
    /// `job.txt` does not exist. It is not created.
    #[error("Job queue is missing and video with id {id} not found.")]
    QueueMissing { id: String },

    /// No line has this id, or the id cannot name a single directory entry.
    #[error("Video with id {id} not found.")]
    NotFound { id: String },

    /// A line of this id has status `processing`, so the worker may still
    /// write its folder.
    #[error("Video with id {id} is processing and cannot be deleted.")]
    Processing { id: String },

    /// Anything unexpected. The details name what failed, with guest paths.
    #[error("Internal server error: {details}")]
    Internal { details: String },

    /// Another delete held the queue's lock file for longer than a delete
    /// waits. Unlike other internal errors, a retry can succeed.
    #[error(
        "Internal server error: the job queue is locked by another delete ({lock_file} held for over {seconds} s); retry"
    )]
    Locked { lock_file: String, seconds: u64 },

    /// A request that HTTP itself rejects, such as an HTTP/1.1 request
    /// without a valid `Host` header.
    #[error("Invalid request: {reason}.")]
    InvalidRequest { reason: String },

    /// An API key is configured and the request did not carry it.
    #[error("Missing or invalid API key.")]
    Unauthorized,

    /// A method other than DELETE on `/v1/videos/{video_id}`.
    #[error("Method {method} is not allowed on {path}; use DELETE.")]
    MethodNotAllowed { method: String, path: String },

    /// A path outside `/v1/videos/{video_id}`.
    #[error("No route for {path}; the only route is DELETE /v1/videos/{{video_id}}.")]
    UnknownRoute { path: String },
}

impl DeleteError {
    /// Builds an [`DeleteError::Internal`] from any displayable cause.
    pub fn internal(details: impl std::fmt::Display) -> Self {
        DeleteError::Internal {
            details: details.to_string(),
        }
    }

    /// The HTTP status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            DeleteError::Processing { .. } | DeleteError::InvalidRequest { .. } => 400,
            DeleteError::Unauthorized => 401,
            DeleteError::QueueMissing { .. }
            | DeleteError::NotFound { .. }
            | DeleteError::UnknownRoute { .. } => 404,
            DeleteError::MethodNotAllowed { .. } => 405,
            DeleteError::Internal { .. } | DeleteError::Locked { .. } => 500,
        }
    }

    /// Whether a client may repeat the request and expect another outcome.
    /// An internal error may come after part of the delete is done, so a
    /// retry would only hide it.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeleteError::Locked { .. })
    }

    /// The JSON body of the error response:
    /// `{"error": {"message": "...", "code": "<status>"}}`.
    pub fn to_json(&self) -> Vec<u8> {
        let body = serde_json::json!({
            "error": {
                "message": self.to_string(),
                "code": self.status().to_string(),
            }
        });
        body.to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_existing_service() {
        let id = "video_1764790000_4821".to_string();
        assert_eq!(
            DeleteError::QueueMissing { id: id.clone() }.to_string(),
            "Job queue is missing and video with id video_1764790000_4821 not found."
        );
        assert_eq!(
            DeleteError::NotFound { id: id.clone() }.to_string(),
            "Video with id video_1764790000_4821 not found."
        );
        assert_eq!(
            DeleteError::Processing { id }.to_string(),
            "Video with id video_1764790000_4821 is processing and cannot be deleted."
        );
        assert_eq!(
            DeleteError::internal("disk on fire").to_string(),
            "Internal server error: disk on fire"
        );
    }

    #[test]
    fn error_body_has_envelope() {
        let body = DeleteError::Processing { id: "a".into() }.to_json();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"error":{"code":"400","message":"Video with id a is processing and cannot be deleted."}}"#
        );
    }

    #[test]
    fn status_codes_per_variant() {
        let id = || "x".to_string();
        assert_eq!(DeleteError::QueueMissing { id: id() }.status(), 404);
        assert_eq!(DeleteError::NotFound { id: id() }.status(), 404);
        assert_eq!(DeleteError::Processing { id: id() }.status(), 400);
        assert_eq!(DeleteError::internal("x").status(), 500);
        assert_eq!(DeleteError::Unauthorized.status(), 401);
        let invalid = DeleteError::InvalidRequest {
            reason: "no Host".into(),
        };
        assert_eq!(invalid.status(), 400);
        assert_eq!(invalid.to_string(), "Invalid request: no Host.");
        let method = DeleteError::MethodNotAllowed {
            method: "GET".into(),
            path: "/v1/videos/x".into(),
        };
        assert_eq!(method.status(), 405);
        assert_eq!(DeleteError::UnknownRoute { path: "/".into() }.status(), 404);
    }
}
