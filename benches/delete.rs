//! Benchmarks of the native delete: `delete_video` on generated queues of
//! 100, 10,000 and 1,000,000 jobs (200 bytes a line) with `DURABILITY` sync
//! and none, the 404 lookup, `find_job` over a buffer in memory, and a plain
//! copy of the tail with the delete's chunking as the baseline.
//!
//! Each iteration deletes a different random job. A queue is regenerated,
//! outside the timed part, once a tenth of its jobs are gone, so every
//! delete sees between 90% and 100% of the nominal size. The 1,000,000-job
//! queue takes about a second per delete, so its groups run criterion's
//! minimum of 10 samples of one delete each.
//!
//! `BENCH_SMOKE=1` measures only the 100-job queue; under `cargo test
//! --benches` criterion runs every routine once.

#[path = "support/queue.rs"]
mod queue;

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, measurement::WallTime,
};
use tempfile::TempDir;
use video_delete::journal::{CHUNK_SIZE, Durability};
use video_delete::{Config, DeleteError, delete_video, job_file};

use queue::{LINE_BYTES, Rng};

/// A generated queue in a temp dir and the jobs still in it.
struct Fixture {
    dir: TempDir,
    jobs: usize,
    /// Indices of the jobs not deleted yet, in random order.
    remaining: Vec<usize>,
    rng: Rng,
}

impl Fixture {
    fn new(jobs: usize, seed: u64) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("video-delete-bench-")
            .tempdir()
            .expect("failed to create a temp dir");
        let mut fixture = Fixture {
            dir,
            jobs,
            remaining: Vec::new(),
            rng: Rng::new(seed),
        };
        fixture.regenerate();
        fixture
    }

    fn regenerate(&mut self) {
        for entry in std::fs::read_dir(self.dir.path()).expect("failed to list the queue") {
            let path = entry.expect("failed to list the queue").path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("failed to clear a folder");
            } else {
                std::fs::remove_file(&path).expect("failed to clear a file");
            }
        }
        queue::write_queue(self.dir.path(), self.jobs).expect("failed to write the queue");
        self.remaining = (0..self.jobs).collect();
        self.rng.shuffle(&mut self.remaining);
    }

    /// Takes the next job to delete, regenerating the queue first if a
    /// tenth of it is gone.
    fn next_job(&mut self) -> usize {
        if self.remaining.len() * 10 < self.jobs * 9 || self.remaining.is_empty() {
            self.regenerate();
        }
        self.remaining.pop().expect("a fresh queue has jobs")
    }

    fn config(&self, durability: Durability) -> Config {
        Config {
            video_dir: self.dir.path().to_path_buf(),
            model: "InfinteTalk".into(),
            separator: queue::SEPARATOR.as_bytes().to_vec(),
            api_key: None,
            durability,
            host_holds_flock: false,
        }
    }
}

fn durability_name(durability: Durability) -> &'static str {
    match durability {
        Durability::Sync => "sync",
        Durability::NoSync => "none",
    }
}

/// Sets the sampling of a group for a queue size, so the 1,000,000-job
/// queue runs in minutes rather than hours.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, jobs: usize) {
    if jobs >= 1_000_000 {
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_secs(5));
    } else if jobs >= 10_000 {
        group
            .sample_size(30)
            .measurement_time(Duration::from_secs(10));
    } else {
        group
            .sample_size(50)
            .measurement_time(Duration::from_secs(5));
    }
    if queue::smoke() {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(500));
    }
}

fn bench_delete(c: &mut Criterion) {
    for durability in [Durability::Sync, Durability::NoSync] {
        let mut group = c.benchmark_group(format!("delete_video/{}", durability_name(durability)));
        for jobs in queue::queue_sizes() {
            configure(&mut group, jobs);
            let mut fixture = Fixture::new(jobs, 1);
            group.bench_function(BenchmarkId::from_parameter(jobs), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let id = queue::job_id(fixture.next_job());
                        let config = fixture.config(durability);
                        let started = Instant::now();
                        let deleted = delete_video(&config, &id);
                        total += started.elapsed();
                        assert!(deleted.is_ok(), "delete of {id} failed: {deleted:?}");
                    }
                    total
                });
            });
        }
        group.finish();
    }
}

fn bench_not_found(c: &mut Criterion) {
    let mut group = c.benchmark_group("delete_video_not_found");
    for jobs in queue::queue_sizes() {
        configure(&mut group, jobs);
        group.throughput(Throughput::Bytes((jobs * LINE_BYTES) as u64));
        let fixture = Fixture::new(jobs, 2);
        let config = fixture.config(Durability::Sync);
        let id = queue::missing_id(0);
        group.bench_function(BenchmarkId::from_parameter(jobs), |b| {
            b.iter(|| {
                let result = delete_video(&config, &id);
                assert!(
                    matches!(result, Err(DeleteError::NotFound { .. })),
                    "{result:?}"
                );
            });
        });
    }
    group.finish();
}

fn bench_find_job(c: &mut Criterion) {
    let mut group = c.benchmark_group("find_job_in_memory");
    for jobs in queue::queue_sizes() {
        configure(&mut group, jobs);
        group.throughput(Throughput::Bytes((jobs * LINE_BYTES) as u64));
        let content: Vec<u8> = (0..jobs)
            .flat_map(|index| queue::job_line(index).into_bytes())
            .collect();
        let separator = queue::SEPARATOR.as_bytes();
        let missing = queue::missing_id(0);
        group.bench_function(BenchmarkId::new("missing", jobs), |b| {
            b.iter(|| {
                black_box(job_file::find_job(black_box(&content), &missing, separator)).is_err()
            });
        });
        let last = queue::job_id(jobs - 1);
        group.bench_function(BenchmarkId::new("last_line", jobs), |b| {
            b.iter(|| black_box(job_file::find_job(black_box(&content), &last, separator)).is_ok());
        });
    }
    group.finish();
}

/// Removes line `position` from `file` the way a plain `dd`-style copy
/// would: the bytes after it move left in chunks of the delete's size,
/// then the file is cut. With `sync`, one `fdatasync` at the end.
fn copy_tail_over_line(file: &File, position: usize, sync: bool, buffer: &mut [u8]) {
    let end = file.metadata().expect("failed to stat job.txt").len();
    let mut write_at = (position * LINE_BYTES) as u64;
    let mut read_at = write_at + LINE_BYTES as u64;
    while read_at < end {
        let len = buffer.len().min((end - read_at) as usize);
        file.read_exact_at(&mut buffer[..len], read_at)
            .expect("failed to read the tail");
        file.write_all_at(&buffer[..len], write_at)
            .expect("failed to write the tail");
        read_at += len as u64;
        write_at += len as u64;
    }
    file.set_len(write_at).expect("failed to cut job.txt");
    if sync {
        file.sync_data().expect("failed to sync job.txt");
    }
}

fn bench_tail_copy(c: &mut Criterion) {
    for sync in [true, false] {
        let name = if sync {
            "tail_copy/sync_once"
        } else {
            "tail_copy/none"
        };
        let mut group = c.benchmark_group(name);
        for jobs in queue::queue_sizes() {
            configure(&mut group, jobs);
            let mut fixture = Fixture::new(jobs, 3);
            let mut buffer = vec![0; CHUNK_SIZE];
            group.bench_function(BenchmarkId::from_parameter(jobs), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        // The job index only sets when to regenerate; the
                        // line removed is a random position of the lines left.
                        fixture.next_job();
                        let lines = fixture.remaining.len() + 1;
                        let position = fixture.rng.below(lines);
                        let file = open_queue(fixture.dir.path());
                        let started = Instant::now();
                        copy_tail_over_line(&file, position, sync, &mut buffer);
                        total += started.elapsed();
                    }
                    total
                });
            });
        }
        group.finish();
    }
}

fn open_queue(dir: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("job.txt"))
        .expect("failed to open job.txt")
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_find_job(&mut criterion);
    bench_not_found(&mut criterion);
    bench_delete(&mut criterion);
    bench_tail_copy(&mut criterion);
    criterion.final_summary();
}
