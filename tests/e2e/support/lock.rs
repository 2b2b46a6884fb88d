//! The producer's lock on `job.txt`, taken by a test to hold a DELETE in
//! flight: the host takes the same exclusive `flock` before the component
//! reads the queue.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use super::wait_until;

/// Takes the exclusive `flock` on `job_txt`, released when the file drops.
pub fn hold(job_txt: &Path) -> File {
    let file = File::open(job_txt).expect("failed to open job.txt");
    file.lock().expect("failed to lock job.txt");
    file
}

/// Waits until process `pid` is blocked waiting for the `flock` on
/// `job_txt`, as `/proc/locks` reports with a `->` entry.
pub fn wait_for_waiter(pid: u32, job_txt: &Path) {
    let inode = std::fs::metadata(job_txt).unwrap().ino();
    wait_until(
        &format!("process {pid} to wait for the lock on job.txt"),
        || {
            let locks = std::fs::read_to_string("/proc/locks").expect("failed to read /proc/locks");
            locks
                .lines()
                .any(|line| is_flock_waiter(line, pid, inode))
                .then_some(())
        },
    );
}

/// Returns whether a `/proc/locks` line, such as
/// `1: -> FLOCK  ADVISORY  WRITE 4242 00:2d:917 0 EOF`, is a waiter of
/// `pid` on the file with `inode`.
fn is_flock_waiter(line: &str, pid: u32, inode: u64) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [_, "->", "FLOCK", _, _, waiter, device_inode, ..] = fields.as_slice() else {
        return false;
    };
    let pid = pid.to_string();
    let inode = format!(":{inode}");
    *waiter == pid && device_inode.ends_with(&inode)
}
