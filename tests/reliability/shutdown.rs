//! SIGTERM in the middle of a burst of deletes: the host stops accepting,
//! finishes the requests it has, and exits 0. Every delete that returned 200
//! is still done after a restart.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::fixtures::client::{self, Reply};
use crate::fixtures::locks::wait_for_flock_waiters;
use crate::support::lock;
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::wait_until;

const CLIENTS: usize = 16;
const DELETES_PER_CLIENT: usize = 25;
/// Successful deletes before the test stops the burst for SIGTERM.
const ANSWERED_BEFORE_SIGTERM: usize = 48;
const SHUTDOWN_LOG: &str = r#"shutting down after in-flight requests signal="SIGTERM""#;

/// One request of the burst.
struct Sent {
    job: Job,
    reply: Reply,
    /// Sent before SIGTERM, with its response or dropped connection after it.
    in_flight: bool,
    after_sigterm: bool,
}

#[test]
fn sigterm_finishes_in_flight_deletes() {
    let jobs: Vec<Job> = (0..CLIENTS * DELETES_PER_CLIENT * 5 / 4)
        .map(|index| {
            let created_at = 1_764_500_000 + index as i64;
            Job::completed(&format!("video_{created_at}_{index:04}"), created_at)
                .with_duration(index as i64)
        })
        .collect();
    let targets: Vec<Job> = jobs
        .iter()
        .enumerate()
        .filter(|(index, _)| index % 5 != 4)
        .map(|(_, job)| job.clone())
        .collect();
    let queue = Queue::with_job_txt(lines(&jobs.iter().collect::<Vec<_>>()));
    for job in &jobs {
        queue.add_job_folder(&job.id);
    }
    let before = queue.snapshot();
    let mut server = Server::start(ServerKind::Host, &queue.dir());
    let addr = server.addr();

    let answered = Arc::new(AtomicUsize::new(0));
    let terminated = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client_index| {
            let mine: Vec<Job> = targets
                .iter()
                .skip(client_index)
                .step_by(CLIENTS)
                .cloned()
                .collect();
            let (answered, terminated, sent) = (answered.clone(), terminated.clone(), sent.clone());
            std::thread::spawn(move || {
                for job in mine {
                    let after_sigterm = terminated.load(Ordering::SeqCst);
                    let reply = client::try_delete(addr, &job.id);
                    let in_flight = !after_sigterm && terminated.load(Ordering::SeqCst);
                    let dropped = matches!(reply, Reply::Dropped { .. });
                    if matches!(&reply, Reply::Complete(response) if response.status == 200) {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    sent.lock().unwrap().push(Sent {
                        job,
                        reply,
                        in_flight,
                        after_sigterm,
                    });
                    if dropped {
                        break;
                    }
                }
            })
        })
        .collect();

    wait_until("the first deletes of the burst", || {
        (answered.load(Ordering::SeqCst) >= ANSWERED_BEFORE_SIGTERM).then_some(())
    });
    // Holding the producer's lock parks one delete of every client in the
    // host, so exactly CLIENTS requests are in flight when SIGTERM arrives.
    let producer_lock = lock::hold(&queue.job_txt_path());
    wait_for_flock_waiters(server.pid(), &queue.job_txt_path(), CLIENTS);
    terminated.store(true, Ordering::SeqCst);
    server.terminate();
    server.wait_for_line("the shutdown line", |line| line.contains(SHUTDOWN_LOG));
    drop(producer_lock);
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "the host exited with {status}");
    for client in clients {
        client.join().unwrap();
    }

    let sent = std::mem::take(&mut *sent.lock().unwrap());
    let mut deleted = BTreeSet::new();
    let mut in_flight = 0;
    for request in sent {
        let id = &request.job.id;
        if request.after_sigterm {
            // The listener is gone: no response at all, never a torn one.
            match request.reply {
                Reply::Dropped { received, .. } => {
                    assert_eq!(received, b"", "torn response for {id}")
                }
                Reply::Complete(response) => {
                    panic!("{id} sent after SIGTERM got {}", response.status)
                }
            }
            continue;
        }
        in_flight += usize::from(request.in_flight);
        let response = request.reply.complete();
        assert_eq!(response.status, 200, "{id}: {}", response.text());
        assert_eq!(response.text(), request.job.deleted_body());
        deleted.insert(id.clone());
    }
    assert_eq!(in_flight, CLIENTS, "requests in flight at SIGTERM");
    println!("deletes answered 200: {}", deleted.len());

    // A restart runs recovery. Every delete that returned 200 must still
    // hold, and nothing else may have changed.
    let _restarted = Server::start(ServerKind::Host, &queue.dir());
    let remaining: Vec<&Job> = jobs
        .iter()
        .filter(|job| !deleted.contains(&job.id))
        .collect();
    let mut expected = before;
    expected.set_file("queue/job.txt", lines(&remaining));
    for id in &deleted {
        expected.remove(format!("queue/{id}"));
    }
    assert_eq!(queue.snapshot(), expected);
}
