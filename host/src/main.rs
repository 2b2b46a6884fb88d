//! `video-delete-host`: runs the video-delete component with wasmtime,
//! over HTTP (`serve`, `demo`) or through its typed export (`delete`).

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser as _;
use tracing_subscriber::EnvFilter;
use video_delete::DeleteError;

use video_delete_host::cli::{Cli, Command, ComponentArgs};
use video_delete_host::lock::QueueLock;
use video_delete_host::sandbox::{self, GuestSettings, PoolLimits, Sandbox};
use video_delete_host::{demo, server, typed};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    match cli.command {
        Command::Serve(args) => {
            let listener = server::bind(args.listen)?;
            let sandbox = load_sandbox(&args.video_dir, &args.component)?;
            recover_queue(&runtime, &sandbox)?;
            let max_instances = args.component.max_instances;
            runtime.block_on(server::serve(sandbox, listener, max_instances))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Delete(args) => {
            let sandbox = load_sandbox(&args.video_dir, &args.component)?;
            let queue_path = sandbox
                .settings
                .video_dir
                .join(video_delete::delete::QUEUE_FILE);
            let lock = QueueLock::acquire_blocking(&queue_path)?;
            let result = runtime.block_on(typed::delete_video(&sandbox, &args.video_id))?;
            drop(lock);
            let (body, code) = match result {
                Ok(job) => (typed::deleted_job_json(job), 0),
                Err(error) => (error.to_json(), exit_code(&error)),
            };
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&body)?;
            stdout.write_all(b"\n")?;
            Ok(ExitCode::from(code))
        }
        Command::Demo(args) => {
            let queue = demo::fresh_copy()?;
            let sandbox = load_sandbox(queue.path(), &args.component)?;
            recover_queue(&runtime, &sandbox)?;
            let job = demo::deletable_job(queue.path())?;
            let listener = server::bind(args.listen)?;
            let addr = listener.local_addr()?;
            // A reader that stops reading must not stop the server, so a
            // closed stdout is ignored here.
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "Demo queue copied to {}", queue.path().display())
                .and_then(|()| writeln!(stdout, "Serving on http://{addr}"))
                .and_then(|()| {
                    writeln!(
                        stdout,
                        "Try: curl -i -X DELETE http://{addr}/v1/videos/{job}"
                    )
                })
                .and_then(|()| stdout.flush());
            drop(stdout);
            let max_instances = args.component.max_instances;
            runtime.block_on(server::serve(sandbox, listener, max_instances))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Finishes a delete that a crash interrupted, under the producer's lock,
/// before the first request. A recovery that fails is logged and the host
/// starts anyway, because every delete repeats it and reports the failure.
fn recover_queue(runtime: &tokio::runtime::Runtime, sandbox: &Sandbox) -> anyhow::Result<()> {
    let queue_path = sandbox
        .settings
        .video_dir
        .join(video_delete::delete::QUEUE_FILE);
    let lock = QueueLock::acquire_blocking(&queue_path)?;
    match runtime.block_on(typed::recover(sandbox))? {
        Ok(Some(id)) => {
            tracing::warn!(video_id = %id, "finished a delete that a crash interrupted")
        }
        Ok(None) => {}
        // Every delete repeats the recovery and answers 500 with this
        // message until an operator acts, so the host still serves.
        Err(message) => tracing::error!(error = %message, "failed to recover the queue"),
    }
    drop(lock);
    Ok(())
}

/// Exit codes of the `delete` subcommand, as its help text lists them.
fn exit_code(error: &DeleteError) -> u8 {
    match error {
        DeleteError::QueueMissing { .. } | DeleteError::NotFound { .. } => 3,
        DeleteError::Processing { .. } => 4,
        _ => 5,
    }
}

fn load_sandbox(video_dir: &Path, args: &ComponentArgs) -> anyhow::Result<Sandbox> {
    let video_dir = sandbox::check_video_dir(video_dir)?;
    if args.separator.is_empty() {
        bail!("--separator (or SEP) is empty; pass the field separator of job.txt, such as $###$");
    }
    let api_key = match args.api_key_file.as_deref() {
        Some(path) => Some(read_api_key(path)?),
        // The environment, unlike the command line, keeps a secret out of
        // `ps`, so the component's own variable works for the host too.
        None => match std::env::var("API_KEY") {
            Ok(key) if !key.trim().is_empty() => Some(check_api_key(key.trim(), "API_KEY")?),
            _ => None,
        },
    };
    let settings = GuestSettings {
        video_dir,
        model: args.model.clone(),
        separator: args.separator.clone(),
        api_key,
        durability: args.durability.as_env(),
    };
    let limits = PoolLimits {
        max_instances: args.max_instances,
        max_memory_bytes: usize::try_from(args.max_memory_mib << 20)
            .context("--max-memory-mib is too large")?,
    };
    let component = args
        .component
        .clone()
        .unwrap_or_else(|| PathBuf::from(sandbox::BUILT_COMPONENT));
    Sandbox::new(&component, settings, limits)
}

/// Reads the API key, never from the command line itself.
fn read_api_key(path: &Path) -> anyhow::Result<String> {
    let content = std::fs::read_to_string(path).with_context(|| {
        format!(
            "failed to read API key file {}; pass --api-key-file with a readable file",
            path.display()
        )
    })?;
    check_api_key(content.trim(), &format!("API key file {}", path.display()))
}

/// Rejects a key that no `Authorization` header could carry. `source`
/// names where the key came from, for the message.
fn check_api_key(key: &str, source: &str) -> anyhow::Result<String> {
    if key.is_empty() {
        bail!("{source} is empty; write the key into it or omit --api-key-file");
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!(
            "{source} contains whitespace or a control character inside the key; \
             write the key as one word on one line"
        );
    }
    Ok(key.to_string())
}
