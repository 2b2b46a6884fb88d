//! Temporary queue directories: `job.txt` and one folder per job, laid out
//! as the video-generation service writes them.
//!
//! Each [`Queue`] is a temporary root holding the queue directory `queue/`
//! and a sibling `outside/`, so tests can check that a delete never reaches
//! past the queue directory.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::bodies;
use super::tree::Tree;

/// The field separator of `job.txt`.
pub const SEP: &str = "$###$";

/// Joins fields into one physical line of `job.txt`, ended by `\n`. Any
/// number of fields is accepted so tests can write malformed lines.
pub fn format_line(fields: &[&str]) -> String {
    let mut line = fields.join(SEP);
    line.push('\n');
    line
}

/// One job, with the fields that a delete response reports and realistic
/// values for the rest.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub status: String,
    pub created_at: i64,
    pub prompt: String,
    pub seconds: String,
    pub generate_duration: i64,
}

impl Job {
    /// Creates a completed job created at `created_at` (unix seconds).
    pub fn completed(id: &str, created_at: i64) -> Job {
        Job {
            id: id.to_string(),
            status: "completed".to_string(),
            created_at,
            prompt: "A news anchor reads the morning headlines at a glass desk".to_string(),
            seconds: "15".to_string(),
            generate_duration: 381,
        }
    }

    pub fn with_status(mut self, status: &str) -> Job {
        self.status = status.to_string();
        self
    }

    pub fn with_prompt(mut self, prompt: &str) -> Job {
        self.prompt = prompt.to_string();
        self
    }

    pub fn with_seconds(mut self, seconds: &str) -> Job {
        self.seconds = seconds.to_string();
        self
    }

    pub fn with_duration(mut self, generate_duration: i64) -> Job {
        self.generate_duration = generate_duration;
        self
    }

    /// Returns the 18 fields, in the order the service writes them.
    pub fn fields(&self) -> [String; 18] {
        let start_time = self.created_at + 3;
        [
            self.id.clone(),
            self.status.clone(),
            self.created_at.to_string(),
            self.prompt.clone(),
            self.seconds.clone(),
            "720x1280".to_string(),
            "standard".to_string(),
            "25".to_string(),
            "5.0".to_string(),
            "40".to_string(),
            "5.0".to_string(),
            "5.0".to_string(),
            "42".to_string(),
            "False".to_string(),
            self.generate_duration.to_string(),
            start_time.to_string(),
            (start_time + self.generate_duration).to_string(),
            String::new(),
        ]
    }

    /// Formats the job's line in `job.txt`, ended by `\n`. A prompt with a newline
    /// makes it two or more physical lines.
    pub fn line(&self) -> String {
        let fields = self.fields();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        format_line(&fields)
    }

    /// The body that deleting this job returns.
    pub fn deleted_body(&self) -> String {
        bodies::deleted(
            &self.id,
            self.created_at,
            &self.seconds,
            self.generate_duration,
        )
    }
}

/// Concatenates the lines of `jobs`.
pub fn lines(jobs: &[&Job]) -> String {
    jobs.iter().map(|job| job.line()).collect()
}

/// A temporary root with a queue directory and a sibling outside it,
/// removed on drop.
pub struct Queue {
    root: TempDir,
}

impl Queue {
    /// Creates an empty queue directory, without `job.txt`.
    pub fn empty() -> Queue {
        let root = tempfile::Builder::new()
            .prefix("video-delete-e2e-")
            .tempdir()
            .expect("failed to create a temporary directory");
        fs::create_dir(root.path().join("queue")).unwrap();
        fs::create_dir(root.path().join("outside")).unwrap();
        Queue { root }
    }

    /// Creates a queue whose `job.txt` has exactly `content`.
    pub fn with_job_txt(content: impl AsRef<[u8]>) -> Queue {
        let queue = Queue::empty();
        fs::write(queue.job_txt_path(), content).unwrap();
        queue
    }

    /// Returns the temporary root, which contains `queue/` and `outside/`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Returns the queue directory that the server is given.
    pub fn dir(&self) -> PathBuf {
        self.root.path().join("queue")
    }

    /// Returns a directory beside the queue directory, for link targets.
    pub fn outside(&self) -> PathBuf {
        self.root.path().join("outside")
    }

    pub fn job_txt_path(&self) -> PathBuf {
        self.dir().join("job.txt")
    }

    /// Reads the current content of `job.txt`.
    pub fn job_txt(&self) -> Vec<u8> {
        fs::read(self.job_txt_path()).expect("failed to read job.txt")
    }

    pub fn job_txt_inode(&self) -> u64 {
        fs::metadata(self.job_txt_path()).unwrap().ino()
    }

    /// Creates the folder of job `id` with the files a finished job has,
    /// including a nested directory, and returns its path.
    pub fn add_job_folder(&self, id: &str) -> PathBuf {
        let folder = self.dir().join(id);
        fs::create_dir_all(folder.join("frames")).unwrap();
        fs::write(folder.join("video.mp4"), format!("video of {id}")).unwrap();
        fs::write(folder.join("audio.wav"), format!("audio of {id}")).unwrap();
        fs::write(folder.join("frames").join("0001.png"), "frame 1").unwrap();
        folder
    }

    /// Takes a snapshot of everything under the root, paths relative to it.
    pub fn snapshot(&self) -> Tree {
        Tree::read(self.root.path())
    }
}
