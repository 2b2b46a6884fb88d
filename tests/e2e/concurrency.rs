//! Many deletes at once, each on its own connection.

use std::sync::{Arc, Barrier};

use crate::support::client;
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::assert_tree_eq;

for_each_server!(concurrent_deletes_of_different_jobs);

const DELETED: usize = 50;
const KEPT: usize = 30;

fn concurrent_deletes_of_different_jobs(kind: ServerKind) {
    // Deleted and kept jobs alternate in the file, and some prompts span two
    // lines, so a lost update or a torn rewrite shows in the result.
    let jobs: Vec<Job> = (0..DELETED + KEPT)
        .map(|index| {
            let created_at = 1764789000 + index as i64;
            let job = Job::completed(&format!("video_{created_at}_{index:04}"), created_at)
                .with_duration(index as i64);
            if index % 7 == 0 {
                job.with_prompt(&format!("Prompt {index}\nsecond line of prompt {index}"))
            } else {
                job
            }
        })
        .collect();
    let is_deleted = |index: usize| index % 8 < 5;
    let deleted: Vec<&Job> = jobs
        .iter()
        .enumerate()
        .filter(|(index, _)| is_deleted(*index))
        .map(|(_, job)| job)
        .collect();
    let kept: Vec<&Job> = jobs
        .iter()
        .enumerate()
        .filter(|(index, _)| !is_deleted(*index))
        .map(|(_, job)| job)
        .collect();
    assert_eq!(deleted.len(), DELETED);
    assert_eq!(kept.len(), KEPT);
    let all: Vec<&Job> = jobs.iter().collect();
    let queue = Queue::with_job_txt(lines(&all));
    for job in &jobs {
        queue.add_job_folder(&job.id);
    }
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());
    let addr = server.addr();

    let barrier = Arc::new(Barrier::new(DELETED));
    let clients: Vec<_> = deleted
        .iter()
        .map(|job| {
            let id = job.id.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                client::delete_video(addr, &id)
            })
        })
        .collect();
    let responses: Vec<_> = clients
        .into_iter()
        .map(|client| client.join().unwrap())
        .collect();

    for (job, response) in deleted.iter().zip(&responses) {
        assert_eq!(response.status, 200, "{}: {}", job.id, response.text());
        assert_eq!(response.text(), job.deleted_body());
    }
    expected.set_file("queue/job.txt", lines(&kept));
    for job in &deleted {
        expected.remove(format!("queue/{}", job.id));
    }
    assert_tree_eq(&queue.snapshot(), &expected);
}
