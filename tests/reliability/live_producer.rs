//! Deletes while a producer writes the queue: `producer.py` appends jobs
//! and moves them through their statuses under the `flock` on `job.txt`,
//! as the video-generation service does, while 16 threads delete jobs
//! through the bundled host. The producer logs every change under the lock,
//! so the log is the queue's history, and the final `job.txt` must be that
//! history minus exactly the jobs deleted with 200.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fixtures::assert_no_delete_in_progress;
use crate::fixtures::client;
use crate::fixtures::jobs::{complete_lines, parse_line};
use crate::fixtures::random::Rng;
use crate::support::bodies;
use crate::support::queue::{Queue, SEP};
use crate::support::server::{Server, ServerKind, run_to_exit};

const RUN: Duration = Duration::from_secs(20);
const DELETERS: usize = 16;
const MAX_DELETES_PER_DELETER: usize = 2_000;

/// The statuses a deleter may target: the host must reject `processing`.
const DELETABLE: [&str; 3] = ["queued", "completed", "error"];

/// One delete and its response.
struct Attempt {
    id: String,
    status: u16,
    body: String,
}

/// The producer's log, replayed.
#[derive(Default)]
struct History {
    /// Ids in the order their first line was appended.
    order: Vec<String>,
    /// The last line written for each id, without `\n`.
    latest: BTreeMap<String, String>,
    /// The last status written for each id.
    status: BTreeMap<String, String>,
    /// Ids that were ever written as processing.
    ever_processing: BTreeSet<String>,
    /// Processing jobs that the worker found gone.
    vanished: Vec<String>,
}

impl History {
    fn read(path: &Path) -> History {
        let text = std::fs::read_to_string(path).expect("failed to read the producer's log");
        let mut history = History::default();
        for record in text.lines() {
            let fields: Vec<&str> = record.splitn(4, '\t').collect();
            let [operation, id, status, line] = fields.as_slice() else {
                panic!("invalid record in the producer's log: {record:?}");
            };
            match *operation {
                "append" => {
                    assert!(
                        !history.latest.contains_key(*id),
                        "the producer appended {id} twice"
                    );
                    history.order.push(id.to_string());
                }
                "status" => assert!(
                    history.latest.contains_key(*id),
                    "the producer updated {id} before appending it"
                ),
                "vanished" => {
                    history.vanished.push(id.to_string());
                    continue;
                }
                other => panic!("unknown operation {other:?} in the producer's log"),
            }
            if *status == "processing" {
                history.ever_processing.insert(id.to_string());
            }
            history.latest.insert(id.to_string(), line.to_string());
            history.status.insert(id.to_string(), status.to_string());
        }
        history
    }

    /// Returns the body of a delete of `id`, built from its last line.
    fn deleted_body(&self, id: &str) -> String {
        let fields: Vec<&str> = self.latest[id].split(SEP).collect();
        bodies::deleted(
            id,
            fields[2].parse().unwrap(),
            fields[4],
            fields[14].parse().unwrap(),
        )
    }
}

#[test]
fn deletes_beside_live_producer_lose_nothing() {
    let (mut rng, seed) = Rng::from_env("PRODUCER_SEED");
    let queue = Queue::with_job_txt("");
    let log = queue.root().join("producer.log");
    let mut server = Server::start(ServerKind::Host, &queue.dir());
    let addr = server.addr();

    let producer = {
        let command = producer_command(&queue.dir(), &log, seed);
        std::thread::spawn(move || run_to_exit(command))
    };
    let deadline = Instant::now() + RUN;
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let deleters: Vec<_> = (0..DELETERS)
        .map(|_| {
            let job_txt = queue.job_txt_path();
            let attempts = attempts.clone();
            let mut rng = Rng::new(rng.next_u64());
            std::thread::spawn(move || {
                // Ids this deleter saw deleted, which a stale read may still
                // list.
                let mut deleted_ids = BTreeSet::new();
                for _ in 0..MAX_DELETES_PER_DELETER {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let Some(id) = pick_deletable(&job_txt, &deleted_ids, &mut rng) else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    let response = client::try_delete(addr, &id).complete();
                    if matches!(response.status, 200 | 404) {
                        deleted_ids.insert(id.clone());
                    }
                    let attempt = Attempt {
                        id,
                        status: response.status,
                        body: response.text().to_string(),
                    };
                    attempts.lock().unwrap().push(attempt);
                    std::thread::sleep(Duration::from_millis(rng.below(10)));
                }
            })
        })
        .collect();
    for deleter in deleters {
        deleter.join().unwrap();
    }
    let finished = producer.join().unwrap();
    let summary = String::from_utf8_lossy(&finished.stdout).into_owned();
    assert!(
        finished.status.success(),
        "the producer failed ({}): {summary}{}",
        finished.status,
        finished.stderr
    );
    server.terminate();
    assert_eq!(
        server.wait().code(),
        Some(0),
        "the host did not exit cleanly"
    );

    let history = History::read(&log);
    let attempts = std::mem::take(&mut *attempts.lock().unwrap());
    check_run(&queue, &history, &attempts, &summary);
}

/// Checks the final queue and every response against the producer's log.
fn check_run(queue: &Queue, history: &History, attempts: &[Attempt], summary: &str) {
    let mut deleted = BTreeSet::new();
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for attempt in attempts {
        *counts.entry(attempt.status).or_default() += 1;
        if attempt.status == 200 {
            assert!(
                deleted.insert(attempt.id.clone()),
                "{} was deleted with 200 twice, so it came back after a delete",
                attempt.id
            );
        }
    }
    println!(
        "producer {}; deletes by status {counts:?}",
        summary.trim_end()
    );
    assert!(history.order.len() > 50, "the producer appended too little");
    assert!(!deleted.is_empty(), "no delete succeeded");
    assert_eq!(
        history.vanished,
        Vec::<String>::new(),
        "processing jobs vanished"
    );

    for attempt in attempts {
        let id = &attempt.id;
        match attempt.status {
            200 => {
                assert!(
                    DELETABLE.contains(&history.status[id].as_str()),
                    "{id} was deleted while its status was {}",
                    history.status[id]
                );
                assert_eq!(attempt.body, history.deleted_body(id));
            }
            400 => {
                assert!(
                    history.ever_processing.contains(id),
                    "{id} got 400 but was never processing"
                );
                let message = format!("Video with id {id} is processing and cannot be deleted.");
                assert_eq!(attempt.body, bodies::error(400, &message));
            }
            404 => {
                assert!(deleted.contains(id), "{id} got 404 but was never deleted");
                assert_eq!(attempt.body, bodies::not_found(id));
            }
            status => panic!("delete of {id} got {status}: {}", attempt.body),
        }
    }

    let content = queue.job_txt();
    let lines = complete_lines(&content);
    let mut present: BTreeMap<String, String> = BTreeMap::new();
    for line in &lines {
        let parsed = parse_line(line)
            .unwrap_or_else(|| panic!("torn line in job.txt: {}", line.escape_ascii()));
        let text = String::from_utf8(line.to_vec()).unwrap();
        assert!(
            present.insert(parsed.id.clone(), text).is_none(),
            "{} has two lines in job.txt",
            parsed.id
        );
    }
    let lost: Vec<&String> = history
        .order
        .iter()
        .filter(|id| !deleted.contains(*id) && !present.contains_key(*id))
        .collect();
    assert_eq!(lost, Vec::<&String>::new(), "appended jobs were lost");
    let resurrected: Vec<&String> = deleted
        .iter()
        .filter(|id| present.contains_key(*id))
        .collect();
    assert_eq!(resurrected, Vec::<&String>::new(), "deleted jobs came back");
    let unknown: Vec<&String> = present
        .keys()
        .filter(|id| !history.latest.contains_key(*id))
        .collect();
    assert_eq!(
        unknown,
        Vec::<&String>::new(),
        "job.txt holds jobs nobody wrote"
    );
    let stale: Vec<&String> = present
        .iter()
        .filter(|(id, line)| history.latest[*id] != **line)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(stale, Vec::<&String>::new(), "status updates were lost");

    let expected: String = history
        .order
        .iter()
        .filter(|id| !deleted.contains(*id))
        .map(|id| format!("{}\n", history.latest[id]))
        .collect();
    assert!(
        content == expected.as_bytes(),
        "job.txt differs from the producer's history in order or bytes"
    );
    let dir = queue.dir();
    for id in &history.order {
        let exists = dir.join(id).exists();
        assert_eq!(exists, !deleted.contains(id), "folder of {id}");
    }
    assert_no_delete_in_progress(&dir);
}

/// Reads `job.txt` without the lock, as a client listing jobs may, and
/// picks a job whose status allows a delete and that is not in `skipped`.
///
/// A read that overlaps a rewrite can join the start of the old file to
/// the rest of the new one, so a piece of a line may parse as a line of its
/// own. Only lines whose id has the producer's form `video_{created_at}_N`
/// with the line's own created_at are taken.
fn pick_deletable(job_txt: &Path, skipped: &BTreeSet<String>, rng: &mut Rng) -> Option<String> {
    let content = std::fs::read(job_txt).ok()?;
    let candidates: Vec<String> = complete_lines(&content)
        .into_iter()
        .filter_map(parse_line)
        .filter(|line| DELETABLE.contains(&line.status.as_str()))
        .filter(|line| line.id.starts_with(&format!("video_{}_", line.fields[2])))
        .filter(|line| !skipped.contains(&line.id))
        .map(|line| line.id)
        .collect();
    (!candidates.is_empty()).then(|| candidates[rng.index(candidates.len())].clone())
}

fn producer_command(queue_dir: &Path, log: &Path, seed: u64) -> Command {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/reliability/producer.py");
    let mut command = Command::new("python3");
    command
        .arg(script)
        .arg("--queue")
        .arg(queue_dir)
        .arg("--log")
        .arg(log)
        .arg("--seconds")
        .arg(RUN.as_secs().to_string())
        .arg("--seed")
        .arg(seed.to_string());
    command
}
