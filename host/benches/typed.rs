//! Benchmarks of the typed `delete-video` export through wasmtime, run by
//! the host library as `video-delete-host delete` runs it: the producer's
//! `flock` on job.txt, then a fresh instance per call. Queues of 100,
//! 10,000 and 1,000,000 jobs with `DURABILITY` sync and none, the 404
//! lookup, and instantiation alone; compare with `benches/delete.rs` of the
//! root crate, which runs the same workloads natively on the same fixtures.
//!
//! `BENCH_SMOKE=1` measures only the 100-job queue; under `cargo test
//! --benches` criterion runs every routine once.

#[path = "../../benches/support/queue.rs"]
mod queue;

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, measurement::WallTime};
use tempfile::TempDir;
use video_delete::DeleteError;
use video_delete_host::lock::QueueLock;
use video_delete_host::sandbox::{self, GuestSettings, PoolLimits, Sandbox};

use queue::Rng;

/// The host's defaults for `--max-instances` and `--max-memory-mib`.
const LIMITS: PoolLimits = PoolLimits {
    max_instances: 64,
    max_memory_bytes: 64 << 20,
};

/// A generated queue in a temp dir and the jobs still in it.
struct Fixture {
    dir: TempDir,
    jobs: usize,
    remaining: Vec<usize>,
    rng: Rng,
}

impl Fixture {
    fn new(jobs: usize, seed: u64) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("video-delete-typed-bench-")
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

    /// Takes the next job to delete, regenerating the queue first once a
    /// tenth of it is gone.
    fn next_job(&mut self) -> usize {
        if self.remaining.len() * 10 < self.jobs * 9 || self.remaining.is_empty() {
            self.regenerate();
        }
        self.remaining.pop().expect("a fresh queue has jobs")
    }

    /// Builds the host's sandbox for this queue. Regeneration keeps the
    /// directory, so the preopen stays valid.
    fn sandbox(&self, durability: &'static str) -> Sandbox {
        let settings = GuestSettings {
            video_dir: sandbox::check_video_dir(self.dir.path()).expect("the queue directory"),
            model: "InfinteTalk".into(),
            separator: queue::SEPARATOR.into(),
            api_key: None,
            durability,
        };
        Sandbox::new(Path::new(sandbox::BUILT_COMPONENT), settings, LIMITS)
            .expect("failed to load the component")
    }
}

/// Deletes `id` as `video-delete-host delete` does and returns the delete's
/// own result.
fn host_delete(
    runtime: &tokio::runtime::Runtime,
    sandbox: &Sandbox,
    id: &str,
) -> Result<(), DeleteError> {
    let queue_path = sandbox.settings.video_dir.join("job.txt");
    let lock = QueueLock::acquire_blocking(&queue_path).expect("failed to lock job.txt");
    let result = runtime
        .block_on(video_delete_host::typed::delete_video(sandbox, id))
        .expect("the component trapped");
    drop(lock);
    result.map(drop)
}

/// Sets the sampling of a group like the native benchmarks do.
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("failed to start the async runtime")
}

fn bench_delete(c: &mut Criterion) {
    let runtime = runtime();
    for durability in ["sync", "none"] {
        let mut group = c.benchmark_group(format!("typed_delete/{durability}"));
        for jobs in queue::queue_sizes() {
            configure(&mut group, jobs);
            let mut fixture = Fixture::new(jobs, 1);
            let sandbox = fixture.sandbox(durability);
            group.bench_function(BenchmarkId::from_parameter(jobs), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let id = queue::job_id(fixture.next_job());
                        let started = Instant::now();
                        let result = host_delete(&runtime, &sandbox, &id);
                        total += started.elapsed();
                        assert!(result.is_ok(), "delete of {id} failed: {result:?}");
                    }
                    total
                });
            });
        }
        group.finish();
    }
}

fn bench_not_found(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("typed_delete_not_found");
    for jobs in queue::queue_sizes() {
        configure(&mut group, jobs);
        let fixture = Fixture::new(jobs, 2);
        let sandbox = fixture.sandbox("sync");
        let id = queue::missing_id(0);
        group.bench_function(BenchmarkId::from_parameter(jobs), |b| {
            b.iter(|| {
                let result = host_delete(&runtime, &sandbox, &id);
                assert!(
                    matches!(result, Err(DeleteError::NotFound { .. })),
                    "{result:?}"
                );
            });
        });
    }
    group.finish();
}

fn bench_instantiate(c: &mut Criterion) {
    let runtime = runtime();
    let fixture = Fixture::new(1, 3);
    let sandbox = fixture.sandbox("sync");
    let mut group = c.benchmark_group("typed_instantiate");
    configure(&mut group, 1);
    group.bench_function("fresh_instance", |b| {
        b.iter(|| {
            let mut store = sandbox.new_store().expect("failed to make a store");
            runtime
                .block_on(sandbox.pre.instantiate_async(&mut store))
                .expect("failed to instantiate");
        });
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_instantiate(&mut criterion);
    bench_not_found(&mut criterion);
    bench_delete(&mut criterion);
    criterion.final_summary();
}
