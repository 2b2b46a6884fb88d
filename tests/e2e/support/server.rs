//! Servers under test, started as child processes on a free port of
//! 127.0.0.1 and killed on drop.
//!
//! Both output streams of the child are read by threads for its whole life,
//! so it never blocks on a full pipe, and every line is kept for tests that
//! check the logs.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::wait_until;

/// The host binary that this test binary was built with.
pub const HOST_BIN: &str = env!("CARGO_BIN_EXE_video-delete-host");

/// The component that the host's build script built, which `wasmtime serve`
/// is given.
pub const COMPONENT: &str = env!("VIDEO_DELETE_COMPONENT");

/// What the host logs once it listens, before `listen=ADDR`.
const HOST_READY: &str = "serving DELETE /v1/videos/{video_id} listen=";

/// What `wasmtime serve` prints once it listens, before `ADDR/`.
const WASMTIME_READY: &str = "Serving HTTP on http://";

/// A server that can host the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// `video-delete-host serve`.
    Host,
    /// `wasmtime serve` from wasmtime-cli 48, with the queue directory
    /// preopened at `/video`.
    WasmtimeServe,
}

/// Every line that a child printed so far, from stdout and stderr in the
/// order they arrived, and how many of the two streams have closed.
#[derive(Debug, Default)]
struct Output {
    lines: Vec<String>,
    closed_streams: usize,
}

/// A running server.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    output: Arc<Mutex<Output>>,
    readers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts a server of `kind` on the queue directory `queue_dir` and
    /// waits until it listens.
    pub fn start(kind: ServerKind, queue_dir: &Path) -> Server {
        match kind {
            ServerKind::Host => Server::start_host(queue_dir),
            ServerKind::WasmtimeServe => Server::start_wasmtime_serve(queue_dir),
        }
    }

    fn start_host(queue_dir: &Path) -> Server {
        Server::start_host_with_args(queue_dir, &[])
    }

    /// Starts the host on `queue_dir` with `extra_args` after the flags it
    /// always gets, and waits until it listens.
    pub fn start_host_with_args(queue_dir: &Path, extra_args: &[&OsStr]) -> Server {
        let mut command = host_command();
        command
            .arg("serve")
            .arg("--video-dir")
            .arg(queue_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra_args);
        let mut server = Server::spawn(command);
        let line = server.wait_for_line("the host to listen", |line| line.contains(HOST_READY));
        let addr = line
            .split_once(HOST_READY)
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in the host's start-up line: {line}"));
        server.addr = addr;
        server
    }

    fn start_wasmtime_serve(queue_dir: &Path) -> Server {
        Server::start_wasmtime_serve_with_env(queue_dir, &[])
    }

    /// Starts `wasmtime serve` on `queue_dir` with `--env NAME=VALUE` for
    /// each entry of `guest_env` after `VIDEO_DIR`, and waits until it
    /// listens.
    pub fn start_wasmtime_serve_with_env(queue_dir: &Path, guest_env: &[(&str, &str)]) -> Server {
        let wasmtime = find_wasmtime().unwrap_or_else(|| {
            panic!(
                "wasmtime is not installed: neither ~/.cargo/bin/wasmtime nor wasmtime on PATH \
                 exists; install wasmtime-cli 48 with .ci/run"
            )
        });
        let mut command = Command::new(wasmtime);
        command
            .args(["serve", "-Scli", "--addr", "127.0.0.1:0", "--dir"])
            .arg(format!("{}::/video", queue_dir.display()))
            .args(["--env", "VIDEO_DIR=/video"]);
        for (name, value) in guest_env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        command.arg(COMPONENT);
        let mut server = Server::spawn(command);
        let line = server.wait_for_line("wasmtime serve to listen", |line| {
            line.contains(WASMTIME_READY)
        });
        let addr = line
            .split_once(WASMTIME_READY)
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in the wasmtime serve start-up line: {line}"));
        server.addr = addr;
        server
    }

    /// Spawns `command` with both output streams read into `output`.
    fn spawn(mut command: Command) -> Server {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {command:?}: {error}"));
        let output = Arc::new(Mutex::new(Output::default()));
        let readers = vec![
            read_lines(child.stdout.take().unwrap(), output.clone()),
            read_lines(child.stderr.take().unwrap(), output.clone()),
        ];
        Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            output,
            readers,
        }
    }

    /// Returns the address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Returns every line the server printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.output.lock().unwrap().lines.clone()
    }

    /// Waits for the first line that `matches` accepts and returns it.
    /// Panics with everything printed so far when the server closes its
    /// output first.
    pub fn wait_for_line(&self, description: &str, matches: impl Fn(&str) -> bool) -> String {
        wait_until(description, || {
            let output = self.output.lock().unwrap();
            if let Some(line) = output.lines.iter().find(|line| matches(line)) {
                return Some(line.clone());
            }
            assert!(
                output.closed_streams < 2,
                "the server exited before {description}; its output:\n{}",
                output.lines.join("\n")
            );
            None
        })
    }

    /// Waits until `count` lines accepted by `matches` were printed and
    /// returns them.
    pub fn wait_for_lines(
        &self,
        description: &str,
        count: usize,
        matches: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        wait_until(description, || {
            let output = self.output.lock().unwrap();
            let found: Vec<String> = output
                .lines
                .iter()
                .filter(|line| matches(line))
                .cloned()
                .collect();
            assert!(
                found.len() <= count,
                "expected {count} lines for {description}, found {}:\n{}",
                found.len(),
                found.join("\n")
            );
            (found.len() == count).then_some(found)
        })
    }

    /// Sends SIGTERM to the server with `kill -TERM`.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("failed to run kill");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits for the server to exit on its own and returns its status.
    pub fn wait(&mut self) -> ExitStatus {
        let status = self.child.wait().expect("failed to wait for the server");
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Errors mean the server has exited already.
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

/// Builds a command that runs the host binary with logs at level info and
/// without the environment variables that its flags read, so a setting of
/// the machine cannot change a test.
pub fn host_command() -> Command {
    let mut command = Command::new(HOST_BIN);
    command
        .env("RUST_LOG", "info")
        .env_remove("VIDEO_DIR")
        .env_remove("MODEL")
        .env_remove("SEP")
        .env_remove("DURABILITY");
    command
}

/// Finds `~/.cargo/bin/wasmtime`, then `wasmtime` on `PATH`.
fn find_wasmtime() -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cargo/bin/wasmtime"))
        .filter(|path| path.is_file());
    cargo_bin.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join("wasmtime"))
            .find(|candidate| candidate.is_file())
    })
}

fn read_lines(stream: impl Read + Send + 'static, output: Arc<Mutex<Output>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    output.lock().unwrap().lines.push(text);
                }
            }
        }
        output.lock().unwrap().closed_streams += 1;
    })
}

/// A process that ran to its exit.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `command` to its exit with both output streams captured. A process
/// that outlives the wait limit is killed and the test fails.
pub fn run_to_exit(mut command: Command) -> Finished {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .unwrap_or_else(|error| panic!("failed to start {command:?}: {error}"));
    let mut child = KillOnDrop(child);
    let stdout = read_all(child.0.stdout.take().unwrap());
    let stderr = read_all(child.0.stderr.take().unwrap());
    let status = wait_until(&format!("{command:?} to exit"), || {
        child.0.try_wait().expect("failed to wait for the process")
    });
    Finished {
        status,
        stdout: stdout.join().unwrap(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
    }
}

/// Returns a log line of the host without its timestamp, so it starts with
/// the level, such as `ERROR video_delete_host: ...`.
pub fn without_timestamp(line: &str) -> &str {
    line.split_once(' ')
        .map_or(line, |(_, rest)| rest)
        .trim_start()
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Errors mean the process has exited already.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_all(mut stream: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut content = Vec::new();
        let _ = stream.read_to_end(&mut content);
        content
    })
}
