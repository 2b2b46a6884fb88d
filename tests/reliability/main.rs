//! Reliability tests of `video-delete-host serve` and `wasmtime serve`:
//! crashes in the middle of a delete, a live producer writing the queue,
//! parallel component instances, stale locks, shutdown, full and read-only
//! disks, and job folders that change while they are removed.
//!
//! Every test runs real servers on 127.0.0.1 with a queue directory of its
//! own and is bounded in count and time. The crash harness runs
//! `CRASH_TRIALS` trials (30 by default, as CI runs); the long run is
//! `CRASH_TRIALS=200 cargo test -p video-delete-host --test reliability crash`.
//! The full-disk and read-only tests mount file systems, so they need root.

#[path = "../e2e/support/mod.rs"]
#[allow(dead_code, reason = "this binary uses only part of the e2e fixtures")]
mod support;

mod fixtures;

mod crash;
mod folder_removal;
mod full_disk;
mod instances;
mod live_producer;
mod read_only;
mod shutdown;
mod stale_lock;
