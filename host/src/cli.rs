//! The command line of `video-delete-host`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Serves the video-delete WebAssembly component, which deletes jobs from a
/// video-generation queue directory.
#[derive(Debug, Parser)]
#[command(name = "video-delete-host", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve DELETE /v1/videos/{video_id} over HTTP.
    Serve(ServeArgs),
    /// Delete one job through the typed export, without HTTP, and print the
    /// JSON body to stdout.
    ///
    /// Exit codes: 0 deleted; 1 the host failed (bad flags or component);
    /// 2 invalid command line; 3 not found or no job.txt; 4 the job is
    /// processing; 5 internal error.
    Delete(DeleteArgs),
    /// Serve a fresh copy of the bundled demo queue.
    Demo(DemoArgs),
}

/// Settings of the queue and the component, shared by every subcommand.
#[derive(Debug, Args)]
pub struct ComponentArgs {
    /// Model name reported in responses.
    #[arg(long, env = "MODEL", default_value = "InfinteTalk")]
    pub model: String,

    /// Field separator of job.txt.
    #[arg(long, env = "SEP", default_value = "$###$")]
    pub separator: String,

    /// Component file to run instead of the one built with the host.
    #[arg(long, value_name = "FILE")]
    pub component: Option<PathBuf>,

    /// File whose content is the API key that every request must carry as
    /// `Authorization: Bearer <key>`. Surrounding whitespace is ignored.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Whether each step of a delete is synced to disk before the next.
    /// `none` is faster and still loses nothing when the process is killed,
    /// but a power loss may undo answered deletes or tear the queue.
    #[arg(long, env = "DURABILITY", value_enum, default_value_t = Durability::Sync)]
    pub durability: Durability,

    /// Maximum component instances alive at once; later requests wait.
    #[arg(long, default_value_t = 64, value_name = "COUNT",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_instances: u32,

    /// Maximum linear memory of one instance, in MiB. A delete needs about
    /// 6 MiB whatever the queue's size.
    #[arg(long, default_value_t = 64, value_name = "MIB",
          value_parser = clap::value_parser!(u64).range(8..=4096))]
    pub max_memory_mib: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Queue directory holding job.txt and one folder per job; the only
    /// directory the component can see.
    #[arg(long, env = "VIDEO_DIR", value_name = "DIR")]
    pub video_dir: PathBuf,

    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub component: ComponentArgs,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Queue directory holding job.txt and one folder per job.
    #[arg(long, env = "VIDEO_DIR", value_name = "DIR")]
    pub video_dir: PathBuf,

    /// Id of the job to delete, such as video_1764790000_4821.
    pub video_id: String,

    #[command(flatten)]
    pub component: ComponentArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub component: ComponentArgs,
}

/// The `--durability` setting, passed to the component as `DURABILITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    /// fsync the journal, job.txt and the directory at every step.
    Sync,
    /// Leave write-back to the kernel.
    None,
}

impl Durability {
    /// The value of the component's `DURABILITY` variable.
    pub fn as_env(self) -> &'static str {
        match self {
            Durability::Sync => "sync",
            Durability::None => "none",
        }
    }
}
