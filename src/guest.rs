//! The component's exports: bindings generated from `wit/world.wit`, and the
//! glue from them to the shared delete and HTTP code.

use crate::http::{self, Request};
use crate::{Config, DeleteError, DeletedJob};

wit_bindgen::generate!({
    world: "video-delete",
    path: "wit",
    generate_all,
});

use exports::video_delete::queue::delete as wit;
use exports::wasi::http::incoming_handler;
use wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

/// The largest write an output stream accepts at once.
const MAX_WRITE: usize = 4096;

struct Component;

impl wit::Guest for Component {
    fn delete_video(video_id: String) -> Result<wit::DeletedJob, wit::DeleteError> {
        Config::from_env()
            .and_then(|config| crate::delete_video(&config, &video_id))
            .map(to_wit_job)
            .map_err(to_wit_error)
    }

    fn recover() -> Result<Option<String>, wit::DeleteError> {
        Config::from_env()
            .and_then(|config| crate::recover(&config))
            .map_err(to_wit_error)
    }
}

impl incoming_handler::Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = method_name(&request.method());
        let path_with_query = request.path_with_query().unwrap_or_default();
        let authorization = request.headers().get("authorization");
        let request = Request {
            method: &method,
            path_with_query: &path_with_query,
            authorization: &authorization,
        };
        let response = http::handle(&request, Config::from_env(), crate::delete_video);
        send(response, response_out);
    }
}

/// Sends `response` through the outparam and writes its body.
fn send(response: http::Response, response_out: ResponseOutparam) {
    let entries: Vec<(String, Vec<u8>)> = response
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone().into_bytes()))
        .collect();
    let headers = Fields::from_list(&entries).expect("response headers are valid");
    let outgoing = OutgoingResponse::new(headers);
    outgoing
        .set_status_code(response.status)
        .expect("the status code is valid");
    let body = outgoing.body().expect("the body is taken once");
    ResponseOutparam::set(response_out, Ok(outgoing));

    // A client that hung up leaves nothing to report to, so write errors end
    // the response quietly.
    if let Ok(stream) = body.write() {
        for chunk in response.body.chunks(MAX_WRITE) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(name) => name.clone(),
    }
}

fn to_wit_job(job: DeletedJob) -> wit::DeletedJob {
    wit::DeletedJob {
        id: job.id,
        model: job.model,
        status: job.status,
        progress: job.progress,
        created_at: job.created_at,
        seconds: job.seconds,
        duration: job.duration,
        estimated_time: job.estimated_time,
        queue_length: job.queue_length,
        error: job.error,
        object: job.object,
        deleted: job.deleted,
    }
}

fn to_wit_error(error: DeleteError) -> wit::DeleteError {
    let message = error.to_string();
    match error {
        DeleteError::QueueMissing { .. } => wit::DeleteError::QueueMissing(message),
        DeleteError::NotFound { .. } => wit::DeleteError::NotFound(message),
        DeleteError::Processing { .. } => wit::DeleteError::Processing(message),
        // The typed export has no routes or keys, so only internal remains.
        _ => wit::DeleteError::Internal(message),
    }
}

export!(Component);
