//! The library behind `video-delete-host`: the wasmtime sandbox that runs
//! the video-delete component, its HTTP server, the typed export, and the
//! producer's lock. The binary is a thin CLI over it; benchmarks and other
//! embedders use it directly.

pub mod cli;
pub mod demo;
pub mod lock;
pub mod sandbox;
pub mod server;
pub mod typed;
