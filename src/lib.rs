//! video-delete: deletes one job from a video-generation queue directory.
//!
//! The crate builds as a WASI 0.2 component (`wasm32-wasip2`) that exports
//! the typed `video-delete:queue/delete` interface and
//! `wasi:http/incoming-handler`, and natively as a library for tests and
//! benchmarks. The modules split by concept: [`job_file`] is the format
//! (bytes in, spans out), [`delete`] the operation on a directory, [`http`]
//! the HTTP mapping, and [`error`] the one source of status codes.

pub mod config;
pub mod delete;
pub mod error;
pub mod http;
pub mod job_file;
pub mod journal;
pub mod queue_lock;

#[cfg(target_arch = "wasm32")]
mod guest;

pub use config::Config;
pub use delete::{DeletedJob, delete_video, recover};
pub use error::DeleteError;
