//! The typed `video-delete:queue/delete` export, called without HTTP.

use anyhow::Context as _;
use video_delete::DeleteError;

use wasmtime::Store;

use crate::sandbox::{Host, Sandbox};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "typed-delete",
    exports: { default: async },
});

use exports::video_delete::queue::delete::{DeleteError as WitError, DeletedJob};

/// Calls `delete-video` once in a fresh instance.
///
/// The outer error is a host failure; the inner one is the delete's own.
pub async fn delete_video(
    sandbox: &Sandbox,
    video_id: &str,
) -> anyhow::Result<Result<DeletedJob, DeleteError>> {
    let (mut store, instance) = instantiate(sandbox).await?;
    let result = instance
        .video_delete_queue_delete()
        .call_delete_video(&mut store, video_id)
        .await
        .map_err(anyhow::Error::from)
        .context("the component trapped")?;
    Ok(result.map_err(|error| to_delete_error(video_id, error)))
}

/// Calls `recover` once in a fresh instance. The outer error is a host
/// failure; the inner one is the component's message when an interrupted
/// delete cannot be finished, and the `Ok` value is the id of the job whose
/// delete it finished, if any.
pub async fn recover(sandbox: &Sandbox) -> anyhow::Result<Result<Option<String>, String>> {
    let (mut store, instance) = instantiate(sandbox).await?;
    let result = instance
        .video_delete_queue_delete()
        .call_recover(&mut store)
        .await
        .map_err(anyhow::Error::from)
        .context("the component trapped")?;
    Ok(result.map_err(|error| match error {
        WitError::QueueMissing(message)
        | WitError::NotFound(message)
        | WitError::Processing(message)
        | WitError::Internal(message) => message,
    }))
}

/// Makes a fresh instance of the typed world.
async fn instantiate(sandbox: &Sandbox) -> anyhow::Result<(Store<Host>, TypedDelete)> {
    let pre = TypedDeletePre::new(sandbox.pre.clone())
        .map_err(anyhow::Error::from)
        .context("the component does not export video-delete:queue/delete")?;
    let mut store = sandbox.new_store()?;
    let instance = pre.instantiate_async(&mut store).await?;
    Ok((store, instance))
}

/// Rebuilds the component's error, so its status code and JSON body come
/// from [`DeleteError`] as they do over HTTP.
fn to_delete_error(video_id: &str, error: WitError) -> DeleteError {
    let id = video_id.to_string();
    match error {
        WitError::QueueMissing(_) => DeleteError::QueueMissing { id },
        WitError::NotFound(_) => DeleteError::NotFound { id },
        WitError::Processing(_) => DeleteError::Processing { id },
        WitError::Internal(message) => {
            let prefix = DeleteError::internal("").to_string();
            let details = message.strip_prefix(&prefix).unwrap_or(&message);
            DeleteError::internal(details)
        }
    }
}

/// The JSON body of a deleted job, as the HTTP route returns it.
pub fn deleted_job_json(job: DeletedJob) -> Vec<u8> {
    let job = video_delete::DeletedJob {
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
    };
    serde_json::to_vec(&job).expect("a deleted job always serializes")
}
