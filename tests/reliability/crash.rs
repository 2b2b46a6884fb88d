//! Crash harness: the host is killed with SIGKILL at a random moment of a
//! delete near the start of a queue of several MB, so most of the file
//! still has to move. The restarted host runs its start-up recovery, after
//! which the job must be wholly present or wholly gone and every other byte
//! of the queue as it was.
//!
//! `CRASH_TRIALS` sets the number of trials (30 by default, as CI runs) and
//! `CRASH_SEED` repeats a run. The long run:
//!
//! ```text
//! CRASH_TRIALS=200 cargo test -p video-delete-host --test reliability crash
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fixtures::client::{self, Reply};
use crate::fixtures::jobs::prompt;
use crate::fixtures::random::Rng;
use crate::fixtures::{JOURNAL_FILE, assert_no_delete_in_progress, send_signal};
use crate::support::queue::{Job, Queue};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::Tree;

const JOBS: usize = 20_000;
const PROMPT_BYTES: usize = 300;
const DEFAULT_TRIALS: usize = 30;
const FIRST_CREATED_AT: i64 = 1_764_700_000;

/// Jobs that get a folder: the first ten, which include every target, and
/// the one whose line comes just before the second line of a target.
const JOBS_WITH_FOLDERS: [usize; 11] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, DUPLICATE_AFTER];

/// A single-line job, one whose prompt contains a newline, and one with a
/// second line far down the file.
const TARGETS: [usize; 3] = [2, 4, 6];
const SPLIT_PROMPT_JOB: usize = 4;
const TWO_LINE_JOB: usize = 6;
const DUPLICATE_AFTER: usize = 10_000;

/// The job deleted after each restart to check that the queue is usable.
const CONTROL_JOB: usize = 0;

/// The queue every trial starts from.
struct CrashQueue {
    jobs: Vec<Job>,
    content: Vec<u8>,
    /// `job.txt` once each job is deleted, keyed by job index.
    without: BTreeMap<usize, Vec<u8>>,
}

impl CrashQueue {
    fn build() -> CrashQueue {
        let jobs: Vec<Job> = (0..JOBS)
            .map(|index| {
                let created_at = FIRST_CREATED_AT + index as i64;
                let mut text = prompt(index, PROMPT_BYTES);
                if index == SPLIT_PROMPT_JOB {
                    text.replace_range(PROMPT_BYTES / 2..PROMPT_BYTES / 2 + 1, "\n");
                }
                Job::completed(&format!("video_{created_at}_{index:05}"), created_at)
                    .with_prompt(&text)
                    .with_duration((index % 600) as i64)
            })
            .collect();
        // Each physical piece of the file with the index of the job it
        // belongs to.
        let mut pieces: Vec<(usize, String)> = Vec::with_capacity(JOBS + 1);
        for (index, job) in jobs.iter().enumerate() {
            pieces.push((index, job.line()));
            if index == DUPLICATE_AFTER {
                let again = jobs[TWO_LINE_JOB].clone().with_duration(999);
                pieces.push((TWO_LINE_JOB, again.line()));
            }
        }
        let join = |skip: Option<usize>| -> Vec<u8> {
            pieces
                .iter()
                .filter(|(owner, _)| Some(*owner) != skip)
                .flat_map(|(_, line)| line.bytes())
                .collect()
        };
        let without = [CONTROL_JOB]
            .into_iter()
            .chain(TARGETS)
            .map(|index| (index, join(Some(index))))
            .collect();
        CrashQueue {
            content: join(None),
            jobs,
            without,
        }
    }

    /// Writes a fresh copy of the queue with its job folders.
    fn lay_out(&self) -> Queue {
        let queue = Queue::with_job_txt(&self.content);
        for index in JOBS_WITH_FOLDERS {
            queue.add_job_folder(&self.jobs[index].id);
        }
        queue
    }
}

/// How a trial ended for the target job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Gone,
    Present,
}

#[test]
fn crash_mid_delete_recovers_whole() {
    let trials = match std::env::var("CRASH_TRIALS") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("CRASH_TRIALS={text:?} is not a count")),
        Err(_) => DEFAULT_TRIALS,
    };
    let (mut rng, seed) = Rng::from_env("CRASH_SEED");
    let queue = CrashQueue::build();
    assert!(queue.content.len() > 6_000_000, "the queue is too small");
    let window = measure_longest_delete(&queue);
    println!("a normal delete took up to {window:?}; kills land within it");

    let mut gone_count = 0;
    let mut present_count = 0;
    let mut acknowledged = 0;
    for trial in 1..=trials {
        let target = TARGETS[rng.index(TARGETS.len())];
        let delay = Duration::from_micros(rng.below(window.as_micros() as u64 + 1));
        println!("trial {trial}: job {target}, SIGKILL after {delay:?}");
        let (outcome, got_ok) = run_trial(&queue, target, delay);
        match outcome {
            Outcome::Gone => gone_count += 1,
            Outcome::Present => present_count += 1,
        }
        acknowledged += usize::from(got_ok);
    }
    println!(
        "crash trials={trials} seed={seed} gone={gone_count} present={present_count} \
         ok_before_kill={acknowledged}"
    );
}

/// Deletes each target once without a crash and returns the longest time
/// from sending the request to the end of the response.
fn measure_longest_delete(queue: &CrashQueue) -> Duration {
    let mut longest = Duration::ZERO;
    for target in TARGETS {
        let laid_out = queue.lay_out();
        let server = Server::start(ServerKind::Host, &laid_out.dir());
        let started = Instant::now();
        let response = client::try_delete(server.addr(), &queue.jobs[target].id).complete();
        longest = longest.max(started.elapsed());
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.text(), queue.jobs[target].deleted_body());
        assert!(
            laid_out.job_txt() == queue.without[&target],
            "a normal delete of job {target} did not leave exactly the other lines"
        );
    }
    longest
}

/// Runs one trial and returns how it ended and whether the delete got a
/// 200 response before the kill.
fn run_trial(queue: &CrashQueue, target: usize, delay: Duration) -> (Outcome, bool) {
    let laid_out = queue.lay_out();
    let dir = laid_out.dir();
    let folders: BTreeMap<String, Tree> = JOBS_WITH_FOLDERS
        .iter()
        .map(|index| {
            let id = queue.jobs[*index].id.clone();
            let tree = Tree::read(&dir.join(&id));
            (id, tree)
        })
        .collect();
    let target_id = queue.jobs[target].id.clone();

    let mut server = Server::start(ServerKind::Host, &dir);
    let addr = server.addr();
    let (sent_sender, sent_receiver) = mpsc::channel();
    let request = client::delete_request(addr, &target_id);
    let requester = std::thread::spawn(move || {
        let mut stream = client::connect(addr).expect("failed to connect to the host");
        stream
            .write_all(&request)
            .expect("failed to send the delete");
        sent_sender.send(Instant::now()).unwrap();
        client::read_reply(&mut stream)
    });
    let sent = sent_receiver.recv().expect("the requester thread failed");
    std::thread::sleep((sent + delay).saturating_duration_since(Instant::now()));
    send_signal(server.pid(), "KILL");
    let status = server.wait();
    assert_eq!(status.signal(), Some(9), "the host did not die of SIGKILL");
    let got_ok = match requester.join().unwrap() {
        Reply::Complete(response) => {
            assert_eq!(response.status, 200, "{}", response.text());
            assert_eq!(response.text(), queue.jobs[target].deleted_body());
            true
        }
        Reply::Dropped { .. } => false,
    };

    // The restarted host recovers the queue before it listens.
    let restarted = Server::start(ServerKind::Host, &dir);
    assert!(
        !dir.join(JOURNAL_FILE).exists(),
        "the journal is still there after the restart"
    );
    let content = laid_out.job_txt();
    let outcome = if content == queue.content {
        Outcome::Present
    } else if content == queue.without[&target] {
        Outcome::Gone
    } else {
        panic!(
            "job.txt is neither the original nor the original without job {target}: {}",
            describe_difference(&content, &queue.content, &queue.without[&target])
        );
    };
    if got_ok {
        assert_eq!(
            outcome,
            Outcome::Gone,
            "a delete that returned 200 was undone"
        );
    }
    for (id, tree) in &folders {
        let folder = dir.join(id);
        if *id == target_id && outcome == Outcome::Gone {
            assert!(
                !folder.exists(),
                "the line of {id} is gone but its folder stays"
            );
        } else {
            assert!(
                folder.is_dir(),
                "the folder of {id} is gone but its line stays"
            );
            assert_eq!(&Tree::read(&folder), tree, "the folder of {id} changed");
        }
    }
    assert_eq!(
        entry_names(&dir),
        expected_entries(&folders, &target_id, outcome),
        "after the restart the queue directory contains more than job.txt and the job folders"
    );

    // The restarted host must serve the next delete; a lock file left by the
    // killed host would make it wait and fail.
    let control = &queue.jobs[CONTROL_JOB];
    let response = client::try_delete(restarted.addr(), &control.id).complete();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), control.deleted_body());
    assert_no_delete_in_progress(&dir);
    (outcome, got_ok)
}

/// Returns the names of the entries of `dir`, sorted.
fn entry_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn expected_entries(
    folders: &BTreeMap<String, Tree>,
    target_id: &str,
    outcome: Outcome,
) -> Vec<String> {
    let mut names: Vec<String> = folders
        .keys()
        .filter(|id| !(id.as_str() == target_id && outcome == Outcome::Gone))
        .cloned()
        .chain(["job.txt".to_string()])
        .collect();
    names.sort();
    names
}

/// Describes where `actual` first differs from the two files it could have
/// been.
fn describe_difference(actual: &[u8], original: &[u8], deleted: &[u8]) -> String {
    let first_difference = |expected: &[u8]| {
        actual
            .iter()
            .zip(expected)
            .position(|(a, b)| a != b)
            .unwrap_or(actual.len().min(expected.len()))
    };
    let at = first_difference(deleted);
    let context = &actual[at.saturating_sub(80)..(at + 80).min(actual.len())];
    format!(
        "{} bytes (original {}, without the job {}); first difference from the deleted \
         version at byte {at}, from the original at byte {}; around it: {}",
        actual.len(),
        original.len(),
        deleted.len(),
        first_difference(original),
        context.escape_ascii()
    )
}
