//! The demo: a fresh copy of the bundled demo queue, served like any other.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The committed demo queue, which the demo never modifies.
const DEMO_QUEUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/queue");

/// Copies the demo queue into a new temporary directory and returns it.
pub fn fresh_copy() -> anyhow::Result<tempfile::TempDir> {
    let source = PathBuf::from(DEMO_QUEUE);
    let copy = tempfile::Builder::new()
        .prefix("video-delete-demo-")
        .tempdir()
        .context("failed to create a temporary directory for the demo queue")?;
    copy_tree(&source, copy.path())
        .with_context(|| format!("failed to copy the demo queue from {}", source.display()))?;
    Ok(copy)
}

/// Returns the id of a demo job that a DELETE removes with status 200.
pub fn deletable_job(queue: &Path) -> anyhow::Result<String> {
    let content = std::fs::read_to_string(queue.join("job.txt"))?;
    content
        .lines()
        .find(|line| line.contains("$###$completed$###$"))
        .and_then(|line| line.split("$###$").next())
        .map(str::to_string)
        .context("the demo queue has no completed job")
}

fn copy_tree(source: &Path, target: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let destination = target.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir(&destination)?;
            copy_tree(&entry.path(), &destination)?;
        } else {
            std::fs::copy(entry.path(), &destination)?;
        }
    }
    Ok(())
}
