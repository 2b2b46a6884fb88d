//! Checks that the documentation matches the product: the README's curl
//! transcripts are replayed against the real host serving the demo queue,
//! and `spin.toml` is checked against the build and the component's
//! configuration, since Spin itself cannot be installed here.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const HOST_BIN: &str = env!("CARGO_BIN_EXE_video-delete-host");

/// The address the README's transcripts use.
const README_ADDR: &str = "127.0.0.1:8080";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// One `$ curl ...` line of the README and the output printed under it.
#[derive(Debug)]
struct Transcript {
    command: String,
    output: Vec<String>,
}

/// Collects the curl commands of the README's `console` blocks.
fn readme_curl_transcripts() -> Vec<Transcript> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let mut transcripts = Vec::new();
    let mut in_console = false;
    let mut current: Option<Transcript> = None;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_console = !in_console && line == "```console";
            transcripts.extend(current.take());
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            transcripts.extend(current.take());
            if command.starts_with("curl ") {
                current = Some(Transcript {
                    command: command.to_string(),
                    output: Vec::new(),
                });
            }
        } else if let Some(transcript) = current.as_mut() {
            transcript.output.push(line.to_string());
        }
    }
    transcripts
}

/// The demo server, killed on drop.
struct Demo {
    child: Child,
    addr: String,
}

impl Demo {
    fn start() -> Demo {
        let mut child = Command::new(HOST_BIN)
            .args(["demo", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = lines
            .by_ref()
            .map(Result::unwrap)
            .find_map(|line| line.strip_prefix("Serving on http://").map(str::to_string))
            .expect("the demo printed no address");
        // Keep reading, so the demo's later lines never meet a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Demo { child, addr }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        // SIGTERM lets the demo shut down and remove its copy of the queue.
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        if !terminated {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Drops the `date` header, the one line that differs from run to run.
fn without_date(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| !line.to_ascii_lowercase().starts_with("date:"))
        .cloned()
        .collect()
}

#[test]
fn readme_curl_transcripts_replay() {
    let transcripts = readme_curl_transcripts();
    assert_eq!(
        transcripts.len(),
        3,
        "expected the 200, 400 and 404 transcripts"
    );
    let demo = Demo::start();
    for transcript in &transcripts {
        let command = transcript.command.replace(README_ADDR, &demo.addr);
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let output = Command::new("curl")
            .arg("-sS")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{command} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = String::from_utf8(output.stdout)
            .unwrap()
            .replace("\r\n", "\n");
        let printed: Vec<String> = printed.lines().map(str::to_string).collect();
        assert_eq!(
            without_date(&printed),
            without_date(&transcript.output),
            "{}",
            transcript.command
        );
    }
}

fn spin_manifest() -> toml::Table {
    let text = std::fs::read_to_string(repo_root().join("spin.toml")).unwrap();
    text.parse().expect("spin.toml is not valid TOML")
}

fn component(manifest: &toml::Table) -> &toml::Table {
    manifest["component"]["video-delete"].as_table().unwrap()
}

#[test]
fn spin_manifest_is_version_two() {
    let manifest = spin_manifest();
    assert_eq!(manifest["spin_manifest_version"].as_integer(), Some(2));
}

#[test]
fn spin_source_is_build_output() {
    let manifest = spin_manifest();
    let component = component(&manifest);
    let command = component["build"]["command"].as_str().unwrap();
    let args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(args[..2], ["cargo", "build"], "{command}");
    assert!(args.contains(&"--release"), "{command}");
    let target = args
        .iter()
        .position(|arg| *arg == "--target")
        .map(|at| args[at + 1]);
    assert_eq!(target, Some("wasm32-wasip2"), "{command}");
    let package = args
        .iter()
        .position(|arg| *arg == "-p")
        .map(|at| args[at + 1]);
    assert_eq!(package, Some("video-delete"), "{command}");
    // Cargo names the artifact after the crate, with `-` as `_`.
    assert_eq!(
        component["source"].as_str(),
        Some("target/wasm32-wasip2/release/video_delete.wasm")
    );
}

#[test]
fn spin_route_covers_video_path() {
    let manifest = spin_manifest();
    let triggers = manifest["trigger"]["http"].as_array().unwrap();
    let covering: Vec<&str> = triggers
        .iter()
        .filter(|trigger| trigger["component"].as_str() == Some("video-delete"))
        .filter_map(|trigger| trigger["route"].as_str())
        .filter(|route| spin_route_matches(route, "/v1/videos/video_1764790000_4821"))
        .collect();
    assert_eq!(covering.len(), 1, "routes: {triggers:?}");
}

/// Spin's route syntax: a trailing `/...` matches any rest of the path, and
/// a `:name` segment matches one segment.
fn spin_route_matches(route: &str, path: &str) -> bool {
    if let Some(prefix) = route.strip_suffix("/...") {
        return path == prefix || path.starts_with(&format!("{prefix}/"));
    }
    let route_segments: Vec<&str> = route.split('/').collect();
    let path_segments: Vec<&str> = path.split('/').collect();
    route_segments.len() == path_segments.len()
        && route_segments
            .iter()
            .zip(&path_segments)
            .all(|(route, path)| route.starts_with(':') || route == path)
}

#[test]
fn spin_route_matcher_rejects_other_paths() {
    assert!(spin_route_matches("/v1/videos/:id", "/v1/videos/a"));
    assert!(!spin_route_matches("/v1/videos/:id", "/v1/videos/a/b"));
    assert!(!spin_route_matches("/v1/videos/...", "/v1/other"));
    assert!(spin_route_matches("/...", "/v1/videos/a"));
}

#[test]
fn spin_mount_is_video_dir() {
    let manifest = spin_manifest();
    let component = component(&manifest);
    let environment = component["environment"].as_table().unwrap();
    let files = component["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0]["destination"].as_str(),
        environment["VIDEO_DIR"].as_str()
    );
    assert_eq!(environment["MODEL"].as_str(), Some("InfinteTalk"));
    assert_eq!(environment["SEP"].as_str(), Some("$###$"));
    assert_eq!(
        component["allowed_outbound_hosts"].as_array().map(Vec::len),
        Some(0)
    );
}
