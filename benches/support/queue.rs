//! Queue fixtures shared by the benchmarks and the load driver: a generated
//! `job.txt` of fixed-length lines, a seeded random generator, percentiles
//! and the peak resident memory of a process.
//!
//! Every generated line is exactly [`LINE_BYTES`] bytes, so the offset of
//! the k-th remaining line is `k * LINE_BYTES` however many lines were
//! removed before it. The plain-copy baseline relies on that.

#![allow(dead_code)]

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::Path;
use std::time::Duration;

/// The field separator of the generated files, the service's default.
pub const SEPARATOR: &str = "$###$";

/// Bytes per generated line, `\n` included.
pub const LINE_BYTES: usize = 200;

/// Queues up to this many jobs get a folder per job with one file. Larger
/// ones get none, so a delete there skips the folder removal.
pub const MAX_JOBS_WITH_FOLDERS: usize = 10_000;

/// Returns whether `BENCH_SMOKE` is set, which shrinks every benchmark to seconds.
pub fn smoke() -> bool {
    std::env::var_os("BENCH_SMOKE").is_some_and(|value| !value.is_empty() && value != "0")
}

/// Returns the queue sizes to measure: 100, 10,000 and 1,000,000 jobs, or only 100
/// in smoke mode.
pub fn queue_sizes() -> Vec<usize> {
    if smoke() {
        vec![100]
    } else {
        vec![100, 10_000, 1_000_000]
    }
}

/// Returns the id of job `index`, unique within a queue.
pub fn job_id(index: usize) -> String {
    format!("video_{}_{index:07}", 1_764_790_000 + index / 16)
}

/// Returns an id that no generated queue contains.
pub fn missing_id(index: usize) -> String {
    format!("video_0_missing{index:07}")
}

/// Returns the line of job `index`: 18 fields, padded in the prompt to exactly
/// [`LINE_BYTES`] bytes.
pub fn job_line(index: usize) -> String {
    let status = ["queued", "completed", "error"][index % 3];
    let created_at = 1_764_790_000 + index / 16;
    let head = format!(
        "{}{SEPARATOR}{status}{SEPARATOR}{created_at}{SEPARATOR}",
        job_id(index)
    );
    let tail = format!(
        "{SEPARATOR}15{SEPARATOR}720x1280{SEPARATOR}standard{SEPARATOR}25{SEPARATOR}5.0\
         {SEPARATOR}40{SEPARATOR}5.0{SEPARATOR}5.0{SEPARATOR}42{SEPARATOR}False{SEPARATOR}14\
         {SEPARATOR}{}{SEPARATOR}{}{SEPARATOR}\n",
        created_at + 31,
        created_at + 45
    );
    let prompt_len = LINE_BYTES
        .checked_sub(head.len() + tail.len())
        .expect("the fixed fields fit in LINE_BYTES");
    let prompt: String = "A presenter greets the audience and waves "
        .chars()
        .cycle()
        .take(prompt_len)
        .collect();
    let line = format!("{head}{prompt}{tail}");
    debug_assert_eq!(line.len(), LINE_BYTES);
    line
}

/// Writes `job.txt` with `jobs` jobs into `dir`, and a folder with one
/// small file per job when `jobs <= MAX_JOBS_WITH_FOLDERS`.
pub fn write_queue(dir: &Path, jobs: usize) -> io::Result<()> {
    let mut writer = BufWriter::with_capacity(1 << 20, File::create(dir.join("job.txt"))?);
    for index in 0..jobs {
        writer.write_all(job_line(index).as_bytes())?;
    }
    writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()?;
    if jobs <= MAX_JOBS_WITH_FOLDERS {
        for index in 0..jobs {
            let folder = dir.join(job_id(index));
            std::fs::create_dir(&folder)?;
            std::fs::write(folder.join("output.mp4"), b"not really a video")?;
        }
    }
    Ok(())
}

/// A SplitMix64 generator: small, seeded, and the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`; `bound` must not be 0.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// `count` distinct indices of `0..len` in random order. A small
    /// sample of a large range is drawn without listing the range, so the
    /// caller's memory stays small.
    pub fn sample(&mut self, len: usize, count: usize) -> Vec<usize> {
        let count = count.min(len);
        if count * 4 >= len {
            let mut indices: Vec<usize> = (0..len).collect();
            self.shuffle(&mut indices);
            indices.truncate(count);
            return indices;
        }
        let mut chosen = std::collections::HashSet::with_capacity(count);
        let mut indices = Vec::with_capacity(count);
        while indices.len() < count {
            let index = self.below(len);
            if chosen.insert(index) {
                indices.push(index);
            }
        }
        indices
    }
}

/// Returns the `p`-th percentile (0-100) of sorted latencies, by nearest
/// rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Reads the peak resident set size of process `pid` in KiB (`VmHWM` in
/// `/proc/PID/status`), or `None` off Linux or when the process is gone.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}
