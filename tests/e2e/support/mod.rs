//! Fixtures shared by the tests: queue directories, servers, a raw HTTP
//! client, expected bodies and file-system snapshots.

pub mod bodies;
pub mod client;
pub mod exchange;
pub mod lock;
pub mod queue;
pub mod server;
pub mod tree;

use std::time::{Duration, Instant};

/// How long a test waits for a server, a log line or a lock before it
/// fails. It only bounds a hang: no test asserts how long anything took.
pub const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// Asserts that two byte strings are equal, showing both with non-ASCII
/// and control bytes escaped so that a difference in `\r` or invalid UTF-8
/// is visible.
#[track_caller]
pub fn assert_bytes_eq(actual: &[u8], expected: &[u8]) {
    assert_eq!(
        actual.escape_ascii().to_string(),
        expected.escape_ascii().to_string()
    );
}

/// Calls `check` every few milliseconds until it returns `Some`, and panics
/// with `description` once [`WAIT_LIMIT`] has passed.
#[track_caller]
pub fn wait_until<T>(description: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {WAIT_LIMIT:?} waiting for {description}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
