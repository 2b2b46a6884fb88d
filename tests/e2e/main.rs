//! End-to-end tests: the real server binaries over real HTTP on 127.0.0.1,
//! each test with a queue directory of its own.
//!
//! The contract tests run against every server that can host the component:
//! `video-delete-host serve` and `wasmtime serve`. Tests of the host's own
//! command line, logs and signals run against the host only.

/// Instantiates contract tests, functions taking a `ServerKind`, once per
/// server: `host::NAME` and `wasmtime_serve::NAME`.
macro_rules! for_each_server {
    ($($name:ident),+ $(,)?) => {
        mod host {
            $(
                #[test]
                fn $name() {
                    super::$name(crate::support::server::ServerKind::Host);
                }
            )+
        }

        mod wasmtime_serve {
            $(
                #[test]
                fn $name() {
                    super::$name(crate::support::server::ServerKind::WasmtimeServe);
                }
            )+
        }
    };
}

mod support;

mod api_key;
mod concurrency;
mod host_cli;
mod host_server;
mod hostile_ids;
mod hostile_requests;
mod preservation;
mod responses;
