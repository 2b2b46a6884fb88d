"""Job-queue directories in the layout that the video-delete component reads.

A queue directory contains job.txt, one job per line with 18 fields joined by
"$###$", and one folder per job named by its id. The client tests build
small queues with these helpers and compare the files before and after a
delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEPARATOR = "$###$"
QUEUE_FILE = "job.txt"
DEFAULT_MODEL = "InfinteTalk"


@dataclass(frozen=True)
class Job:
    """One job line, with the fields that a delete response reports."""

    video_id: str
    status: str
    created_at: int = 1764790000
    prompt: str = "A presenter waves at the camera"
    seconds: str = "5"
    generate_duration: int = 0

    def line(self) -> str:
        """Return the job.txt line of this job, ending in a newline."""
        finished = self.status in ("completed", "error")
        start_time = str(self.created_at + 3) if finished else ""
        end_time = str(self.created_at + 3 + self.generate_duration) if finished else ""
        error = "worker crashed" if self.status == "error" else ""
        fields = [
            self.video_id,
            self.status,
            str(self.created_at),
            self.prompt,
            self.seconds,
            "720x1280",
            "standard",
            "25",
            "5.0",
            "40",
            "5.0",
            "4.0",
            "42",
            "False",
            str(self.generate_duration),
            start_time,
            end_time,
            error,
        ]
        return SEPARATOR.join(fields) + "\n"

    def deleted_body(self, model: str = DEFAULT_MODEL) -> dict:
        """Return the JSON body that a successful delete of this job returns."""
        return {
            "id": self.video_id,
            "model": model,
            "status": "deleted",
            "progress": 0,
            "created_at": self.created_at,
            "seconds": self.seconds,
            "duration": self.generate_duration,
            "estimated_time": 0,
            "queue_length": 0,
            "error": "",
            "object": "video.deleted",
            "deleted": True,
        }


def write_queue(directory: Path, jobs: list[Job]) -> None:
    """Write job.txt with one line per job and a folder with two files per job."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / QUEUE_FILE).write_text("".join(job.line() for job in jobs), encoding="utf-8")
    for job in jobs:
        folder = directory / job.video_id
        folder.mkdir()
        (folder / "input.json").write_text(f'{{"prompt": "{job.prompt}"}}\n', encoding="utf-8")
        (folder / "output.mp4").write_bytes(f"clip of {job.video_id}".encode())


def snapshot(directory: Path) -> dict[str, bytes | None]:
    """Return every path under `directory`, with file contents and None for folders."""
    entries: dict[str, bytes | None] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        entries[relative] = None if path.is_dir() else path.read_bytes()
    return entries
