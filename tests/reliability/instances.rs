//! Parallel component instances with no host lock: `wasmtime serve` runs
//! one instance per request side by side, so only the component's own lock
//! file keeps two deletes from rewriting `job.txt` at once.

use std::path::Path;
use std::sync::{Arc, Barrier};

use crate::fixtures::client;
use crate::fixtures::fast_temp_root;
use crate::fixtures::jobs::TempQueue;
use crate::support::queue::{Job, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::Tree;

const CLIENTS: usize = 16;
const DELETES_PER_CLIENT: usize = 200;
/// One kept job after every four targets.
const KEPT: usize = CLIENTS * DELETES_PER_CLIENT / 4;

#[test]
fn parallel_wasmtime_instances_delete_every_target() {
    let total = CLIENTS * DELETES_PER_CLIENT + KEPT;
    let jobs: Vec<Job> = (0..total)
        .map(|index| {
            let created_at = 1_764_600_000 + index as i64;
            let job = Job::completed(&format!("video_{created_at}_{index:05}"), created_at)
                .with_duration(index as i64 % 900);
            if index % 9 == 0 {
                job.with_prompt(&format!("Prompt {index}\ncontinued on a second line"))
            } else {
                job
            }
        })
        .collect();
    let is_kept = |index: usize| index % 5 == 4;
    let kept: Vec<&Job> = jobs
        .iter()
        .enumerate()
        .filter(|(index, _)| is_kept(*index))
        .map(|(_, job)| job)
        .collect();
    let targets: Vec<&Job> = jobs
        .iter()
        .enumerate()
        .filter(|(index, _)| !is_kept(*index))
        .map(|(_, job)| job)
        .collect();
    assert_eq!(targets.len(), CLIENTS * DELETES_PER_CLIENT);
    assert_eq!(kept.len(), KEPT);

    // The queue lives on tmpfs where there is one, so the run takes the
    // time of the deletes and their locking, not of the disk's syncs.
    let queue = TempQueue::in_root(&fast_temp_root());
    let dir = queue.dir();
    let all: Vec<&Job> = jobs.iter().collect();
    std::fs::write(queue.job_txt_path(), lines(&all)).unwrap();
    for job in &jobs {
        add_small_folder(&dir, &job.id);
    }
    let mut expected = Tree::read(&dir);
    for job in &targets {
        expected.remove(&job.id);
    }
    expected.remove("job.txt");

    let server = Server::start(ServerKind::WasmtimeServe, &dir);
    let addr = server.addr();
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client_index| {
            let mine: Vec<Job> = targets
                .iter()
                .skip(client_index)
                .step_by(CLIENTS)
                .map(|job| (*job).clone())
                .collect();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                mine.into_iter()
                    .map(|job| {
                        let response = client::try_delete(addr, &job.id).complete();
                        (job, response)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut answered = 0;
    for client in clients {
        for (job, response) in client.join().unwrap() {
            assert_eq!(response.status, 200, "{}: {}", job.id, response.text());
            assert_eq!(response.text(), job.deleted_body());
            answered += 1;
        }
    }
    assert_eq!(answered, CLIENTS * DELETES_PER_CLIENT);

    assert!(
        queue.job_txt() == lines(&kept).as_bytes(),
        "job.txt is not exactly the kept jobs' lines"
    );
    let mut actual = Tree::read(&dir);
    actual.remove("job.txt");
    // The comparison also fails on a lock file or journal left behind.
    assert_eq!(actual, expected);
}

/// Creates a job folder with one file, enough to tell it from a missing one.
fn add_small_folder(dir: &Path, id: &str) {
    let folder = dir.join(id);
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("video.mp4"), format!("video of {id}")).unwrap();
}
