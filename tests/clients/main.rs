//! Real clients against the real component: the official OpenAI Python
//! SDK against the bundled host, and the Node.js example that runs the
//! component's typed export under jco.
//!
//! Both suites are Python `unittest` scripts; these tests run them and
//! fail with their output. `bash .ci/install` installs what they need.

use std::path::{Path, PathBuf};
use std::process::Command;

const HOST_BIN: &str = env!("CARGO_BIN_EXE_video-delete-host");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `command` and fails with its output unless it exits 0.
fn run(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("failed to start {what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn openai_python_client_suite() {
    let mut command = Command::new("python3");
    command
        .arg(repo_root().join("tests/clients/test_openai_client.py"))
        .env("VIDEO_DELETE_HOST", HOST_BIN);
    run(
        command,
        "the openai client suite (needs `bash .ci/install`)",
    );
}

#[test]
fn node_example_suite() {
    let example = repo_root().join("examples/node");
    assert!(
        example.join("node_modules").is_dir(),
        "examples/node/node_modules is missing; run `bash .ci/install` or `npm ci` in examples/node"
    );
    // Transpile on every run, so the example always runs the component
    // this build made.
    let mut transpile = Command::new("npm");
    transpile
        .current_dir(&example)
        .args(["run", "--silent", "transpile"])
        .env("VIDEO_DELETE_COMPONENT", env!("VIDEO_DELETE_COMPONENT"));
    run(transpile, "npm run transpile in examples/node");

    let mut command = Command::new("python3");
    command.arg(repo_root().join("tests/clients/test_node_example.py"));
    run(command, "the Node example suite");
}
