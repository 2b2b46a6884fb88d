//! Removal of job folders: a large nested one, one that a worker keeps
//! writing into while it goes, and one whose subdirectory is swapped for a
//! link to another folder while it goes. A delete either removes the whole
//! folder and returns 200, or returns 500 naming the folder and leaves the
//! rest to the next delete. It never removes anything outside the folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::fixtures::client::error_of;
use crate::support::bodies;
use crate::support::client;
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::{Entry, Tree};

/// Maximum entries the worker creates, or swaps the swapper makes, in one
/// round, so a round ends even if the delete never returns.
const MAX_RACE_STEPS: usize = 50_000;

fn numbered_jobs(first_created_at: i64, count: usize) -> Vec<Job> {
    (0..count)
        .map(|index| {
            let created_at = first_created_at + index as i64;
            Job::completed(&format!("video_{created_at}_{index:04}"), created_at)
                .with_duration(index as i64)
        })
        .collect()
}

/// Writes `files_per_dir` files into each of 10 directories with 10
/// subdirectories each, and as many into `folder` itself.
fn add_nested_tree(folder: &Path, files_per_dir: usize) -> Vec<PathBuf> {
    let mut dirs = vec![folder.to_path_buf()];
    for outer in 0..10 {
        let outer_dir = folder.join(format!("d{outer}"));
        dirs.push(outer_dir.clone());
        for inner in 0..10 {
            dirs.push(outer_dir.join(format!("e{inner}")));
        }
    }
    for dir in &dirs {
        fs::create_dir_all(dir).unwrap();
        for file in 0..files_per_dir {
            fs::write(
                dir.join(format!("f{file}.bin")),
                format!("{}", dir.display()),
            )
            .unwrap();
        }
    }
    dirs
}

/// Checks one delete that raced with a change to its folder, then the
/// delete of the same id that follows it. The first returns 200 with the
/// folder gone, or 500 naming the folder. Either way the line is gone, and
/// the second delete returns 404 with the folder gone.
fn check_raced_delete(server: &Server, queue: &Queue, job: &Job, response: &client::Response) {
    let folder = queue.dir().join(&job.id);
    match response.status {
        200 => {
            assert_eq!(response.text(), job.deleted_body());
            assert!(
                !folder.exists(),
                "{} answered 200 but its folder is still there: {:?}",
                job.id,
                fs::read_dir(&folder).map(|entries| entries.count())
            );
        }
        500 => {
            let (_, message) = error_of(response);
            let expected = format!(
                "Internal server error: removed the job from job.txt but failed to remove job \
                 folder /video/{}: ",
                job.id
            );
            assert!(
                message.starts_with(&expected),
                "unexpected message: {message}"
            );
        }
        status => panic!("{} got {status}: {}", job.id, response.text()),
    }
    let again = client::delete_video(server.addr(), &job.id);
    assert_eq!(again.status, 404, "{}", again.text());
    assert_eq!(again.text(), bodies::not_found(&job.id));
    assert!(
        !folder.exists(),
        "the follow-up delete left the folder of {}",
        job.id
    );
}

/// Returns the names of the entries of the queue directory, sorted.
fn queue_entries(queue: &Queue) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(queue.dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn expected_entries(kept: &[&Job]) -> Vec<String> {
    let mut names: Vec<String> = kept.iter().map(|job| job.id.clone()).collect();
    names.push("job.txt".to_string());
    names.sort();
    names
}

#[test]
fn thousand_file_folder_removed_whole() {
    let jobs = numbered_jobs(1_764_400_000, 2);
    let (target, kept) = (&jobs[0], &jobs[1]);
    let queue = Queue::with_job_txt(lines(&[target, kept]));
    let folder = queue.dir().join(&target.id);
    queue.add_job_folder(&kept.id);
    let canary = queue.outside().join("canary");
    fs::create_dir(&canary).unwrap();
    fs::write(canary.join("keep.txt"), "outside the queue").unwrap();
    // 1,000 files: 10 in each of the 100 directories d*/e*.
    for outer in 0..10 {
        for inner in 0..10 {
            let dir = folder.join(format!("d{outer}/e{inner}"));
            fs::create_dir_all(&dir).unwrap();
            for file in 0..10 {
                fs::write(dir.join(format!("frame{file:02}.png")), "frame").unwrap();
            }
        }
    }
    std::os::unix::fs::symlink("../../outside/canary", folder.join("outside_link")).unwrap();
    std::os::unix::fs::symlink(format!("../../{}", kept.id), folder.join("d0/kept_link")).unwrap();
    let before = queue.snapshot();
    let files = before
        .0
        .iter()
        .filter(|(path, entry)| {
            path.starts_with(format!("queue/{}", target.id)) && matches!(entry, Entry::File(_))
        })
        .count();
    assert_eq!(files, 1_000);

    let server = Server::start(ServerKind::Host, &queue.dir());
    let response = client::delete_video(server.addr(), &target.id);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), target.deleted_body());
    let mut expected = before;
    expected.set_file("queue/job.txt", lines(&[kept]));
    expected.remove(format!("queue/{}", target.id));
    assert_eq!(queue.snapshot(), expected);
}

#[test]
fn writing_worker_never_half_deletes() {
    const ROUNDS: usize = 6;
    let jobs = numbered_jobs(1_764_410_000, ROUNDS + 2);
    let (targets, kept) = jobs.split_at(ROUNDS);
    let kept: Vec<&Job> = kept.iter().collect();
    let all: Vec<&Job> = jobs.iter().collect();
    let queue = Queue::with_job_txt(lines(&all));
    for job in &kept {
        queue.add_job_folder(&job.id);
    }
    let kept_before: Vec<_> = kept
        .iter()
        .map(|job| Tree::read(&queue.dir().join(&job.id)))
        .collect();
    let server = Server::start(ServerKind::Host, &queue.dir());

    let mut outcomes = Vec::new();
    for (round, job) in targets.iter().enumerate() {
        let dirs = add_nested_tree(&queue.dir().join(&job.id), 5);
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // Creates files, and now and then a directory, in the
                // folder's existing directories; never the folder itself.
                let mut created = 0;
                for step in 0..MAX_RACE_STEPS {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let dir = &dirs[step % dirs.len()];
                    let created_entry = if step % 10 == 0 {
                        fs::create_dir(dir.join(format!("new{step}")))
                    } else {
                        fs::write(dir.join(format!("new{step}.bin")), "late")
                    };
                    created += usize::from(created_entry.is_ok());
                }
                created
            })
        };
        let response = client::delete_video(server.addr(), &job.id);
        stop.store(true, Ordering::SeqCst);
        let created = worker.join().unwrap();
        println!(
            "round {round}: {} while {created} entries were added",
            response.status
        );
        check_raced_delete(&server, &queue, job, &response);
        outcomes.push(response.status);
    }
    println!("outcomes: {outcomes:?}");

    assert_eq!(queue.job_txt(), lines(&kept).as_bytes());
    assert_eq!(queue_entries(&queue), expected_entries(&kept));
    for (job, tree) in kept.iter().zip(&kept_before) {
        assert_eq!(&Tree::read(&queue.dir().join(&job.id)), tree);
    }
}

#[test]
fn swapped_symlink_never_escapes_folder() {
    const ROUNDS: usize = 10;
    let jobs = numbered_jobs(1_764_420_000, ROUNDS + 1);
    let (targets, kept) = jobs.split_at(ROUNDS);
    let kept: Vec<&Job> = kept.iter().collect();
    let all: Vec<&Job> = jobs.iter().collect();
    let queue = Queue::with_job_txt(lines(&all));
    // Two canaries: a sibling job folder inside the queue directory, which
    // the sandbox lets a link reach, and a directory outside it.
    let sibling = queue.add_job_folder(&kept[0].id);
    let outside = queue.outside().join("canary");
    for canary in [&sibling, &outside] {
        fs::create_dir_all(canary).unwrap();
        for file in 0..20 {
            fs::write(canary.join(format!("canary{file:02}.txt")), "must stay").unwrap();
        }
    }
    let link_targets = [
        format!("../../{}", kept[0].id),
        "../../outside/canary".to_string(),
    ];
    let before = queue.snapshot();
    let server = Server::start(ServerKind::Host, &queue.dir());

    let mut outcomes = Vec::new();
    for (round, job) in targets.iter().enumerate() {
        let folder = queue.dir().join(&job.id);
        let sub = folder.join("sub");
        fs::create_dir_all(&sub).unwrap();
        for file in 0..50 {
            fs::write(sub.join(format!("f{file:02}.bin")), "job data").unwrap();
        }
        add_nested_tree(&folder.join("other"), 2);
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let link_target = link_targets[round % link_targets.len()].clone();
            std::thread::spawn(move || {
                // Moves `sub` aside, puts a link in its place, then moves it
                // back. Every step may fail once the delete took an entry.
                let aside = sub.with_file_name("sub.aside");
                let mut swaps = 0;
                for _ in 0..MAX_RACE_STEPS {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if fs::rename(&sub, &aside).is_ok() {
                        if std::os::unix::fs::symlink(&link_target, &sub).is_ok() {
                            swaps += 1;
                            let _ = fs::remove_file(&sub);
                        }
                        let _ = fs::rename(&aside, &sub);
                    }
                }
                swaps
            })
        };
        let response = client::delete_video(server.addr(), &job.id);
        stop.store(true, Ordering::SeqCst);
        let swaps = swapper.join().unwrap();
        println!("round {round}: {} after {swaps} swaps", response.status);
        check_raced_delete(&server, &queue, job, &response);
        outcomes.push(response.status);
    }
    println!("outcomes: {outcomes:?}");

    let mut expected = before;
    expected.set_file("queue/job.txt", lines(&kept));
    assert_eq!(queue.snapshot(), expected);
}
