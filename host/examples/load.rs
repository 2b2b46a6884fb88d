//! Load driver: runs 404 lookups on a generated queue, then deletes every
//! job (or a random sample) in random order with N concurrent clients, and
//! prints throughput, p50, p99 and the peak resident memory of the server.
//!
//! Targets:
//! - `native`: `video_delete::delete_video` in this process, one thread per
//!   client.
//! - `typed`: the component's typed export through the host library in
//!   this process, as `video-delete-host delete` runs it: the producer's
//!   `flock` on `job.txt`, then a fresh instance.
//! - `typed-allow-blocking`: the same through a second embedding whose
//!   guest filesystem calls run on the calling thread, which the host does
//!   not do.
//! - `tail-copy`: no delete at all, the baseline. Each request moves the
//!   bytes after a random line left over it, in chunks of the delete's
//!   size, and cuts the file.
//! - `host`: spawns `video-delete-host serve` and sends raw HTTP/1.1 over
//!   keep-alive connections.
//! - `wasmtime-serve`: spawns `wasmtime serve -Scli` with the component.
//! - `url`: an already running server on a loopback address.
//!
//! Requests go only to loopback addresses; the driver rejects any other.
//! `BENCH_SMOKE=1` caps every run at 100 jobs and 20 lookups.
//!
//! Examples:
//!   cargo run --release -p video-delete-host --example load -- run \
//!       --target host --jobs 10000 --clients 16
//!   cargo run -p video-delete-host --example load -- smoke

#[path = "../../benches/support/queue.rs"]
mod queue;

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::{Args, Parser, Subcommand, ValueEnum};
use video_delete::journal::{CHUNK_SIZE, Durability};
use video_delete::{Config, DeleteError};
use video_delete_host::lock::QueueLock;
use video_delete_host::sandbox::{self, GuestSettings, PoolLimits, Sandbox};

use queue::{LINE_BYTES, Rng};

/// How long a spawned server may take to accept its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one HTTP request may take before the driver gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Parser)]
#[command(name = "load", about = "Load driver for the video-delete benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Run one workload against one target and print its numbers.
    Run(RunArgs),
    /// Start a server repeatedly and print the time to its first response.
    Startup(StartupArgs),
    /// Write a queue of generated jobs into a directory, for a server that
    /// the `url` target then drives.
    Generate {
        /// Directory to write job.txt (and job folders) into; created if
        /// missing.
        #[arg(long)]
        video_dir: PathBuf,
        /// Number of jobs.
        #[arg(long)]
        jobs: usize,
    },
    /// Run every target on 100 jobs with 4 clients and fail on any
    /// unexpected status; for CI.
    Smoke(ProgramArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    Native,
    Typed,
    TailCopy,
    Host,
    WasmtimeServe,
    Url,
}

#[derive(Debug, Clone, Args)]
struct ProgramArgs {
    /// The video-delete-host binary; defaults to the one built with this
    /// driver's profile.
    #[arg(long)]
    host_bin: Option<PathBuf>,
    /// The wasmtime CLI, version 48.
    #[arg(long, default_value = "wasmtime")]
    wasmtime_bin: PathBuf,
    /// The component file; defaults to the one the host's build script
    /// built.
    #[arg(long)]
    component: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    #[arg(long, value_enum)]
    target: Target,
    /// Generate a fresh queue of this many jobs in a temp dir. Not with
    /// `--target url`.
    #[arg(long)]
    jobs: Option<usize>,
    /// The queue the `url` target's server serves; the driver reads the
    /// ids from its job.txt.
    #[arg(long)]
    video_dir: Option<PathBuf>,
    /// Base URL of the running server for `--target url`, such as
    /// http://127.0.0.1:8080.
    #[arg(long)]
    url: Option<String>,
    /// Process id of the `url` target's server, to read its peak memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Concurrent clients, each with its own connection or thread.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Delete this many random jobs instead of all of them.
    #[arg(long)]
    sample: Option<usize>,
    /// 404 lookups of ids that are not in the queue, before the deletes.
    #[arg(long, default_value_t = 200)]
    lookups: usize,
    /// DURABILITY for the delete: sync or none.
    #[arg(long, default_value = "sync")]
    durability: String,
    /// Seed of the delete order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// With `--target native`, take the host's `flock` on job.txt around
    /// every delete, as the host does before it runs the guest.
    #[arg(long)]
    flock: bool,
    #[command(flatten)]
    programs: ProgramArgs,
}

#[derive(Debug, Clone, Args)]
struct StartupArgs {
    /// `host` or `wasmtime-serve`.
    #[arg(long, value_enum)]
    target: Target,
    /// Starts to measure. The summary leaves out the first, which may fill
    /// the compilation cache.
    #[arg(long, default_value_t = 11)]
    runs: usize,
    /// Jobs in the queue the server starts on.
    #[arg(long, default_value_t = 100)]
    jobs: usize,
    #[command(flatten)]
    programs: ProgramArgs,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Mode::Run(args) => {
            for line in run(&args)? {
                println!("{line}");
            }
            Ok(())
        }
        Mode::Startup(args) => startup(&args),
        Mode::Generate { video_dir, jobs } => {
            std::fs::create_dir_all(&video_dir)?;
            queue::write_queue(&video_dir, jobs)
                .with_context(|| format!("failed to write the queue in {}", video_dir.display()))
        }
        Mode::Smoke(programs) => smoke(&programs),
    }
}

/// Results of one phase of a run.
struct Phase {
    name: &'static str,
    requests: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn line(&self, prefix: &str) -> String {
        let p50 = queue::percentile(&self.latencies, 50.0);
        let p99 = queue::percentile(&self.latencies, 99.0);
        let throughput = self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9);
        let mut line = format!(
            "{prefix} workload={} requests={} errors={} seconds={:.3} throughput_per_s={:.1} \
             p50_ms={:.3} p99_ms={:.3}",
            self.name,
            self.requests,
            self.errors,
            self.elapsed.as_secs_f64(),
            throughput,
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
        );
        if let Some(error) = &self.first_error {
            line.push_str(&format!(" first_error={error:?}"));
        }
        line
    }
}

/// A sender of deletes, one per client thread, that returns each
/// response's status code and body.
trait Client {
    fn delete(&mut self, id: &str) -> anyhow::Result<(u16, Vec<u8>)>;
}

/// Makes the client of one thread.
type ClientFactory = dyn Fn() -> anyhow::Result<Box<dyn Client>> + Sync;

/// What one client thread measured: latencies, unexpected statuses, and
/// the first of them.
struct ClientResult {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

/// Runs the delete and lookup phases and returns one line per phase plus a
/// summary line.
fn run(args: &RunArgs) -> anyhow::Result<Vec<String>> {
    ensure!(args.clients > 0, "--clients must be at least 1");
    let durability = parse_durability(&args.durability)?;
    let (jobs, lookups) = smoke_caps(args.jobs, args.lookups);

    let temp;
    let mut rng = Rng::new(args.seed);
    // Only the ids to delete are listed, so that a 1,000,000-job queue adds
    // little to this process's memory.
    let (video_dir, order): (PathBuf, Vec<String>) = match (args.target, jobs, &args.video_dir) {
        (Target::Url, _, Some(dir)) => {
            let ids = read_ids(dir)?;
            let count = args.sample.unwrap_or(ids.len());
            let order = rng.sample(ids.len(), count);
            (
                dir.clone(),
                order.into_iter().map(|index| ids[index].clone()).collect(),
            )
        }
        (Target::Url, _, None) => bail!("--target url needs --video-dir with the served queue"),
        (_, Some(jobs), _) => {
            temp = tempfile::Builder::new()
                .prefix("video-delete-load-")
                .tempdir()?;
            queue::write_queue(temp.path(), jobs)?;
            let order = rng.sample(jobs, args.sample.unwrap_or(jobs));
            (
                temp.path().to_path_buf(),
                order.into_iter().map(queue::job_id).collect(),
            )
        }
        (_, None, _) => bail!("pass --jobs N to generate a queue"),
    };
    let missing: Vec<String> = (0..lookups).map(queue::missing_id).collect();

    let programs = &args.programs;
    let mut server = None;
    let factory: Box<ClientFactory> = match args.target {
        Target::Native => {
            let config = native_config(&video_dir, durability);
            let flock = args.flock;
            Box::new(move || {
                Ok(Box::new(NativeClient {
                    config: config.clone(),
                    flock,
                }) as Box<dyn Client>)
            })
        }
        Target::Typed => {
            let settings = GuestSettings {
                video_dir: sandbox::check_video_dir(&video_dir)?,
                model: "InfinteTalk".into(),
                separator: queue::SEPARATOR.into(),
                api_key: None,
                durability: durability_env(durability),
            };
            let limits = PoolLimits {
                max_instances: 64,
                max_memory_bytes: 64 << 20,
            };
            let sandbox = Arc::new(Sandbox::new(&component_path(programs), settings, limits)?);
            let runtime = Arc::new(tokio::runtime::Runtime::new()?);
            Box::new(move || {
                Ok(Box::new(TypedClient {
                    sandbox: sandbox.clone(),
                    runtime: runtime.clone(),
                }) as Box<dyn Client>)
            })
        }
        Target::TailCopy => {
            let queue_path = video_dir.join("job.txt");
            let lines = std::fs::metadata(&queue_path)?.len() as usize / LINE_BYTES;
            let state = Arc::new(Mutex::new(TailCopyState {
                lines,
                rng: Rng::new(args.seed ^ 0x5eed),
                buffer: vec![0; CHUNK_SIZE],
                sync: durability == Durability::Sync,
                queue_path,
            }));
            Box::new(move || Ok(Box::new(TailCopyClient(state.clone())) as Box<dyn Client>))
        }
        Target::Host | Target::WasmtimeServe => {
            let spawned = Server::spawn(args.target, programs, &video_dir, durability)?;
            let addr = spawned.addr;
            server = Some(spawned);
            Box::new(move || Ok(Box::new(HttpClient::new(addr)) as Box<dyn Client>))
        }
        Target::Url => {
            let url = args.url.as_deref().context("--target url needs --url")?;
            let addr = parse_loopback_url(url)?;
            Box::new(move || Ok(Box::new(HttpClient::new(addr)) as Box<dyn Client>))
        }
    };

    // Lookups run first, on the whole queue, because deleting every job
    // leaves job.txt empty. The baseline has no lookup: every request of it
    // removes a line.
    let lookups_phase = match args.target {
        Target::TailCopy => None,
        _ => Some(run_phase(
            "lookup404",
            &missing,
            args.clients,
            404,
            &*factory,
        )?),
    };
    let deletes = run_phase("delete", &order, args.clients, 200, &*factory)?;

    let pid = match (&server, args.target) {
        (Some(server), _) => Some(server.child.id()),
        (None, Target::Url) => args.pid,
        (None, _) => Some(std::process::id()),
    };
    let peak_rss = pid.and_then(queue::peak_rss_kib);
    let ready = server.as_ref().map(|server| server.ready);
    drop(server);

    let prefix = format!(
        "target={} jobs={} clients={} durability={}",
        target_name(args.target),
        jobs.map_or_else(|| "existing".to_string(), |jobs| jobs.to_string()),
        args.clients,
        args.durability,
    );
    let prefix = if args.flock {
        format!("{prefix} flock=true")
    } else {
        prefix
    };
    let mut summary = format!(
        "{prefix} peak_rss_mib={}",
        peak_rss.map_or_else(|| "-".into(), |kib| format!("{:.1}", kib as f64 / 1024.0))
    );
    if let Some(ready) = ready {
        summary.push_str(&format!(" ready_ms={:.1}", ready.as_secs_f64() * 1000.0));
    }
    let mut lines = vec![deletes.line(&prefix)];
    lines.extend(lookups_phase.map(|phase| phase.line(&prefix)));
    lines.push(summary);
    Ok(lines)
}

/// Caps the sizes under `BENCH_SMOKE`.
fn smoke_caps(jobs: Option<usize>, lookups: usize) -> (Option<usize>, usize) {
    if queue::smoke() {
        (jobs.map(|jobs| jobs.min(100)), lookups.min(20))
    } else {
        (jobs, lookups)
    }
}

/// Sends one request per id with `clients` clients pulling from a shared
/// cursor, and counts the responses whose status is not `expected`.
fn run_phase(
    name: &'static str,
    ids: &[String],
    clients: usize,
    expected: u16,
    factory: &ClientFactory,
) -> anyhow::Result<Phase> {
    let cursor = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<anyhow::Result<ClientResult>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut client = factory()?;
                    let mut latencies = Vec::new();
                    let mut errors = 0;
                    let mut first_error = None;
                    loop {
                        let index = cursor.fetch_add(1, Ordering::Relaxed);
                        let Some(id) = ids.get(index) else { break };
                        let sent = Instant::now();
                        let (status, body) = client.delete(id)?;
                        latencies.push(sent.elapsed());
                        if status != expected {
                            errors += 1;
                            first_error.get_or_insert_with(|| {
                                format!("{id}: {status} {}", String::from_utf8_lossy(&body))
                            });
                        }
                    }
                    Ok(ClientResult {
                        latencies,
                        errors,
                        first_error,
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a client thread panicked"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut phase = Phase {
        name,
        requests: ids.len(),
        errors: 0,
        first_error: None,
        elapsed,
        latencies: Vec::with_capacity(ids.len()),
    };
    for result in results {
        let result = result?;
        phase.latencies.extend(result.latencies);
        phase.errors += result.errors;
        if phase.first_error.is_none() {
            phase.first_error = result.first_error;
        }
    }
    phase.latencies.sort_unstable();
    Ok(phase)
}

fn parse_durability(value: &str) -> anyhow::Result<Durability> {
    match value {
        "sync" => Ok(Durability::Sync),
        "none" => Ok(Durability::NoSync),
        other => bail!("--durability is {other:?}; use sync or none"),
    }
}

fn durability_env(durability: Durability) -> &'static str {
    match durability {
        Durability::Sync => "sync",
        Durability::NoSync => "none",
    }
}

fn native_config(video_dir: &Path, durability: Durability) -> Config {
    Config {
        video_dir: video_dir.to_path_buf(),
        model: "InfinteTalk".into(),
        separator: queue::SEPARATOR.as_bytes().to_vec(),
        api_key: None,
        durability,
        host_holds_flock: false,
    }
}

/// Maps a delete result to the status code the HTTP route would send.
fn status_of(result: &Result<video_delete::DeletedJob, DeleteError>) -> (u16, Vec<u8>) {
    match result {
        Ok(_) => (200, Vec::new()),
        Err(error) => (error.status(), error.to_json()),
    }
}

struct NativeClient {
    config: Config,
    flock: bool,
}

impl Client for NativeClient {
    fn delete(&mut self, id: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let _lock = if self.flock {
            Some(flock(&self.config.video_dir.join("job.txt"))?)
        } else {
            None
        };
        Ok(status_of(&video_delete::delete_video(&self.config, id)))
    }
}

struct TypedClient {
    sandbox: Arc<Sandbox>,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Client for TypedClient {
    fn delete(&mut self, id: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let queue_path = self.sandbox.settings.video_dir.join("job.txt");
        let lock = QueueLock::acquire_blocking(&queue_path)?;
        let result = self
            .runtime
            .block_on(video_delete_host::typed::delete_video(&self.sandbox, id))?;
        drop(lock);
        Ok(match result {
            Ok(_) => (200, Vec::new()),
            Err(error) => (error.status(), error.to_json()),
        })
    }
}

/// Takes an exclusive `flock` on `job.txt`, the lock that the host and the
/// producer share. Closing the returned file releases it.
fn flock(queue_path: &Path) -> anyhow::Result<File> {
    let file = File::open(queue_path)
        .with_context(|| format!("failed to open {}", queue_path.display()))?;
    file.lock()
        .with_context(|| format!("failed to lock {}", queue_path.display()))?;
    Ok(file)
}

struct TailCopyState {
    lines: usize,
    rng: Rng,
    buffer: Vec<u8>,
    sync: bool,
    queue_path: PathBuf,
}

struct TailCopyClient(Arc<Mutex<TailCopyState>>);

impl Client for TailCopyClient {
    /// Removes a random line by copying the tail over it; the id only
    /// paces the requests.
    fn delete(&mut self, _id: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut state = self.0.lock().expect("a client panicked");
        ensure!(state.lines > 0, "the baseline ran out of lines");
        let lines = state.lines;
        let position = state.rng.below(lines);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&state.queue_path)?;
        let end = file.metadata()?.len();
        let mut write_at = (position * LINE_BYTES) as u64;
        let mut read_at = write_at + LINE_BYTES as u64;
        let sync = state.sync;
        let buffer = &mut state.buffer;
        while read_at < end {
            let len = buffer.len().min((end - read_at) as usize);
            file.read_exact_at(&mut buffer[..len], read_at)?;
            file.write_all_at(&buffer[..len], write_at)?;
            read_at += len as u64;
            write_at += len as u64;
        }
        file.set_len(write_at)?;
        if sync {
            file.sync_data()?;
        }
        state.lines -= 1;
        Ok((200, Vec::new()))
    }
}

/// Reads the first field of every line of `dir/job.txt`.
fn read_ids(dir: &Path) -> anyhow::Result<Vec<String>> {
    let path = dir.join("job.txt");
    let content =
        std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(content
        .split(|byte| *byte == b'\n')
        .filter_map(|line| {
            let text = std::str::from_utf8(line).ok()?;
            let id = text.split(queue::SEPARATOR).next()?;
            (!id.is_empty() && text.contains(queue::SEPARATOR)).then(|| id.to_string())
        })
        .collect())
}

/// Parses `http://HOST:PORT[/]` and rejects any address off the loopback
/// range.
fn parse_loopback_url(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("--url {url:?} must start with http://"))?;
    let authority = rest.trim_end_matches('/');
    let addr: SocketAddr = authority
        .parse()
        .with_context(|| format!("--url {url:?} must be http://IP:PORT"))?;
    ensure!(
        addr.ip().is_loopback(),
        "--url {url:?} is not a loopback address; the driver only loads servers on this machine"
    );
    Ok(addr)
}

/// A keep-alive HTTP/1.1 connection that reconnects when the server
/// closes it.
struct HttpClient {
    addr: SocketAddr,
    connection: Option<BufReader<TcpStream>>,
}

impl HttpClient {
    fn new(addr: SocketAddr) -> HttpClient {
        HttpClient {
            addr,
            connection: None,
        }
    }

    fn connect(&mut self) -> anyhow::Result<&mut BufReader<TcpStream>> {
        if self.connection.is_none() {
            let stream = TcpStream::connect(self.addr)
                .with_context(|| format!("failed to connect to {}", self.addr))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
            self.connection = Some(BufReader::new(stream));
        }
        Ok(self.connection.as_mut().expect("connected above"))
    }

    fn send(&mut self, id: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let request = format!(
            "DELETE /v1/videos/{id} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\r\n",
            self.addr
        );
        let connection = self.connect()?;
        connection.get_mut().write_all(request.as_bytes())?;
        let response = read_response(connection);
        match response {
            Ok((status, body, close)) => {
                if close {
                    self.connection = None;
                }
                Ok((status, body))
            }
            Err(error) => {
                self.connection = None;
                Err(error)
            }
        }
    }
}

impl Client for HttpClient {
    fn delete(&mut self, id: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let reused = self.connection.is_some();
        match self.send(id) {
            // A reused connection that the server closed while idle fails
            // before the request is read, so one retry cannot delete twice.
            Err(error) if reused && is_closed_connection(&error) => self.send(id),
            other => other,
        }
    }
}

fn is_closed_connection(error: &anyhow::Error) -> bool {
    error.downcast_ref::<std::io::Error>().is_some_and(|error| {
        matches!(
            error.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
        )
    })
}

/// Reads one response: status, body (by content-length or chunked) and
/// whether the server will close the connection.
fn read_response(reader: &mut BufReader<TcpStream>) -> anyhow::Result<(u16, Vec<u8>, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("invalid status line {line:?}"))?;
    let mut content_length = None;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        ensure!(
            reader.read_line(&mut line)? > 0,
            "the connection closed in the headers"
        );
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            bail!("invalid header line {header:?}");
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => content_length = Some(value.parse::<usize>()?),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .with_context(|| format!("invalid chunk size line {line:?}"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    reader.read_line(&mut line)?;
                    if line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = content_length {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
        close = true;
    }
    Ok((status, body, close))
}

/// A server process spawned by the driver, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// From spawn to the first complete response.
    ready: Duration,
}

impl Server {
    fn spawn(
        target: Target,
        programs: &ProgramArgs,
        video_dir: &Path,
        durability: Durability,
    ) -> anyhow::Result<Server> {
        let component = component_path(programs);
        let mut command = match target {
            Target::Host => {
                let mut command = Command::new(host_bin(programs));
                command
                    .arg("serve")
                    .arg("--video-dir")
                    .arg(video_dir)
                    .args(["--listen", "127.0.0.1:0"])
                    .args(["--durability", durability_env(durability)]);
                if programs.component.is_some() {
                    command.arg("--component").arg(&component);
                }
                command
            }
            Target::WasmtimeServe => {
                let mut command = Command::new(&programs.wasmtime_bin);
                command
                    .args(["serve", "-Scli", "--addr", "127.0.0.1:0", "--dir"])
                    .arg(format!("{}::/video", video_dir.display()))
                    .args(["--env", "VIDEO_DIR=/video"]);
                if durability == Durability::NoSync {
                    command.args(["--env", "DURABILITY=none"]);
                }
                command.arg(&component);
                command
            }
            _ => bail!("{target:?} is not a server target"),
        };
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("failed to start {:?}", command.get_program()))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (port_sender, port_receiver) = mpsc::channel();
        // Reads the port from the start-up log, then keeps draining stderr
        // so that request logs never fill the pipe.
        std::thread::spawn(move || {
            let mut sender = Some(port_sender);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = sender.as_ref().and(find_port(&line)) {
                    let _ = sender.take().expect("checked above").send(port);
                }
            }
        });
        let port = match port_receiver.recv_timeout(READY_TIMEOUT) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait()?;
                bail!("the server printed no listen address within {READY_TIMEOUT:?} ({status})");
            }
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = Server {
            child,
            addr,
            ready: Duration::ZERO,
        };
        let mut probe = HttpClient::new(addr);
        loop {
            if probe.send(&queue::missing_id(9_999_999)).is_ok() {
                break;
            }
            ensure!(
                started.elapsed() < READY_TIMEOUT,
                "the server at {addr} did not answer within {READY_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        server.ready = started.elapsed();
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds the port in `listen=127.0.0.1:PORT` (the host) or
/// `http://127.0.0.1:PORT` (wasmtime serve).
fn find_port(line: &str) -> Option<u16> {
    let at = line.find("127.0.0.1:")? + "127.0.0.1:".len();
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|port| *port != 0)
}

/// Returns the target's name as the command line spells it.
fn target_name(target: Target) -> String {
    target.to_possible_value().map_or_else(
        || format!("{target:?}"),
        |value| value.get_name().to_string(),
    )
}

/// The host binary of this driver's build: cargo puts examples in
/// `<target>/<profile>/examples/`, beside the binaries one level up, in
/// whatever target directory the build used.
fn host_bin(programs: &ProgramArgs) -> PathBuf {
    programs.host_bin.clone().unwrap_or_else(|| {
        let driver = std::env::current_exe().expect("the driver's own path is readable");
        driver
            .parent()
            .and_then(Path::parent)
            .expect("the driver runs from <target>/<profile>/examples")
            .join("video-delete-host")
    })
}

fn component_path(programs: &ProgramArgs) -> PathBuf {
    programs
        .component
        .clone()
        .unwrap_or_else(|| PathBuf::from(sandbox::BUILT_COMPONENT))
}

fn startup(args: &StartupArgs) -> anyhow::Result<()> {
    ensure!(
        matches!(args.target, Target::Host | Target::WasmtimeServe),
        "startup measures only the host or wasmtime-serve targets"
    );
    ensure!(
        args.runs >= 2,
        "--runs must be at least 2: the first one warms the cache"
    );
    let runs = if queue::smoke() { 2 } else { args.runs };
    let dir = tempfile::Builder::new()
        .prefix("video-delete-startup-")
        .tempdir()?;
    queue::write_queue(dir.path(), args.jobs)?;
    let mut warm = Vec::new();
    for run in 0..runs {
        let server = Server::spawn(args.target, &args.programs, dir.path(), Durability::Sync)?;
        println!(
            "target={} run={run} ready_ms={:.1}{}",
            target_name(args.target),
            server.ready.as_secs_f64() * 1000.0,
            if run == 0 {
                " (may fill the cache)"
            } else {
                ""
            }
        );
        if run > 0 {
            warm.push(server.ready);
        }
    }
    warm.sort_unstable();
    println!(
        "target={} warm_runs={} ready_p50_ms={:.1} ready_max_ms={:.1}",
        target_name(args.target),
        warm.len(),
        queue::percentile(&warm, 50.0).as_secs_f64() * 1000.0,
        warm.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Runs every target on a tiny queue and fails on any unexpected status.
fn smoke(programs: &ProgramArgs) -> anyhow::Result<()> {
    let wasmtime_found = Command::new(&programs.wasmtime_bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    let mut failures = 0;
    for target in [
        Target::Native,
        Target::Typed,
        Target::TailCopy,
        Target::Host,
        Target::WasmtimeServe,
    ] {
        if target == Target::WasmtimeServe && !wasmtime_found {
            println!(
                "skipped wasmtime-serve: {} --version failed",
                programs.wasmtime_bin.display()
            );
            continue;
        }
        let args = RunArgs {
            target,
            jobs: Some(100),
            video_dir: None,
            url: None,
            pid: None,
            clients: 4,
            sample: None,
            lookups: 20,
            durability: "sync".into(),
            seed: 1,
            flock: false,
            programs: programs.clone(),
        };
        for line in run(&args)? {
            println!("{line}");
            if line.contains("errors=") && !line.contains("errors=0 ") {
                failures += 1;
            }
        }
    }
    ensure!(
        failures == 0,
        "{failures} smoke phases had unexpected statuses"
    );
    println!("smoke passed");
    Ok(())
}
