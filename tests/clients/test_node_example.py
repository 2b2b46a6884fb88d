"""Runs the Node.js example in examples/node against temporary queues.

The example calls the component's typed export through jco and
@bytecodealliance/preview2-shim. Before running this script, run in
examples/node: `npm ci`, then `npm run transpile` (which needs the component
that `cargo build -p video-delete-host` builds).

Run: python3 tests/clients/test_node_example.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from queue_files import QUEUE_FILE, Job, snapshot, write_queue  # noqa: E402

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "node"
GENERATED_MODULE = EXAMPLE_DIR / "generated" / "video_delete.js"

# A deadline for one run of the example, so a hung run fails the test
# instead of the whole suite. No test asserts how fast anything is.
RUN_DEADLINE_SECONDS = 120.0

# Variables that the example forwards to the component. The tests unset
# them unless a test sets them itself.
FORWARDED_VARIABLES = ("MODEL", "SEP")


def setUpModule() -> None:
    if shutil.which("node") is None:
        raise RuntimeError("node is not on PATH; install Node.js 20 or later")
    if not (EXAMPLE_DIR / "node_modules" / "@bytecodealliance" / "preview2-shim").is_dir():
        raise RuntimeError(f"{EXAMPLE_DIR}/node_modules is missing; run `npm ci` in {EXAMPLE_DIR}")
    if not GENERATED_MODULE.is_file():
        raise RuntimeError(
            f"{GENERATED_MODULE} is missing; run `npm run transpile` in {EXAMPLE_DIR} "
            "after `cargo build -p video-delete-host`"
        )


def run_example(script: str, *args: str, extra_env: dict[str, str] | None = None):
    environment = {
        name: value for name, value in os.environ.items() if name not in FORWARDED_VARIABLES
    }
    environment.update(extra_env or {})
    return subprocess.run(
        ["node", script, *args],
        cwd=EXAMPLE_DIR,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_SECONDS,
    )


def compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class NodeExampleTests(unittest.TestCase):
    TARGET = Job("video_1764790000_4821", "completed", seconds="8", generate_duration=77)
    OTHER = Job("video_1764790200_2093", "queued", created_at=1764790200)

    def setUp(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="video-delete-node-"))
        self.queue = self.root / "queue"
        write_queue(self.queue, [self.TARGET, self.OTHER])
        # A directory next to the queue, which the component must not see.
        self.sibling = self.root / "sibling"
        (self.sibling / self.TARGET.video_id).mkdir(parents=True)
        (self.sibling / QUEUE_FILE).write_text(self.TARGET.line(), encoding="utf-8")
        (self.sibling / self.TARGET.video_id / "output.mp4").write_bytes(b"not in the queue")
        self.sibling_before = snapshot(self.sibling)

    def tearDown(self) -> None:
        shutil.rmtree(self.root)

    def test_delete_prints_deleted_job(self) -> None:
        result = run_example("delete.mjs", str(self.queue), self.TARGET.video_id)

        self.assertEqual(result.stderr, "")
        self.assertEqual(result.stdout, compact_json(self.TARGET.deleted_body()) + "\n")
        self.assertEqual(result.returncode, 0)
        self.assertEqual((self.queue / QUEUE_FILE).read_text(encoding="utf-8"), self.OTHER.line())
        self.assertFalse((self.queue / self.TARGET.video_id).exists())
        self.assertEqual(
            sorted(path.name for path in self.queue.iterdir()), [QUEUE_FILE, self.OTHER.video_id]
        )
        self.assertEqual(
            (self.queue / self.OTHER.video_id / "output.mp4").read_bytes(),
            f"clip of {self.OTHER.video_id}".encode(),
        )
        self.assertEqual(snapshot(self.sibling), self.sibling_before)

    def test_model_variable_reaches_component(self) -> None:
        result = run_example(
            "delete.mjs", str(self.queue), self.TARGET.video_id, extra_env={"MODEL": "TalkTest"}
        )

        self.assertEqual(result.stderr, "")
        self.assertEqual(result.stdout, compact_json(self.TARGET.deleted_body("TalkTest")) + "\n")
        self.assertEqual(result.returncode, 0)

    def test_unknown_id_prints_not_found(self) -> None:
        before = snapshot(self.queue)
        unknown = "video_1764799999_0000"

        result = run_example("delete.mjs", str(self.queue), unknown)

        expected = {"error": {"code": "404", "message": f"Video with id {unknown} not found."}}
        self.assertEqual(result.stderr, "")
        self.assertEqual(result.stdout, compact_json(expected) + "\n")
        self.assertEqual(result.returncode, 3)
        self.assertEqual(snapshot(self.queue), before)

    def test_processing_job_prints_error(self) -> None:
        processing = Job("video_1764790100_7315", "processing", created_at=1764790100)
        with (self.queue / QUEUE_FILE).open("a", encoding="utf-8") as queue_file:
            queue_file.write(processing.line())
        before = snapshot(self.queue)

        result = run_example("delete.mjs", str(self.queue), processing.video_id)

        message = f"Video with id {processing.video_id} is processing and cannot be deleted."
        self.assertEqual(result.stderr, "")
        self.assertEqual(
            result.stdout, compact_json({"error": {"code": "400", "message": message}}) + "\n"
        )
        self.assertEqual(result.returncode, 4)
        self.assertEqual(snapshot(self.queue), before)

    def test_id_outside_queue_is_not_found(self) -> None:
        before = snapshot(self.queue)

        result = run_example("delete.mjs", str(self.queue), f"../sibling/{self.TARGET.video_id}")

        message = f"Video with id ../sibling/{self.TARGET.video_id} not found."
        self.assertEqual(
            result.stdout, compact_json({"error": {"code": "404", "message": message}}) + "\n"
        )
        self.assertEqual(result.returncode, 3)
        self.assertEqual(snapshot(self.queue), before)
        self.assertEqual(snapshot(self.sibling), self.sibling_before)

    def test_missing_arguments_print_usage(self) -> None:
        result = run_example("delete.mjs", str(self.queue))

        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr, "usage: node delete.mjs QUEUE_DIR VIDEO_ID\n")
        self.assertEqual(result.returncode, 2)

    def test_check_sandbox_passes(self) -> None:
        result = run_example("check-sandbox.mjs", extra_env={"VIDEO_DELETE_PROBE": "host-only"})

        self.assertEqual(result.stderr, "")
        self.assertEqual(
            result.stdout.splitlines(),
            [
                "ok - exactly one preopen, at /video",
                "ok - the preopen rejects paths that leave it",
                "ok - the environment is VIDEO_DIR, MODEL and SEP only",
                "ok - the arguments and working directory are video-delete and /video",
                "ok - deleteVideo removes a job and leaves the sibling directory",
            ],
        )
        self.assertEqual(result.returncode, 0)


if __name__ == "__main__":
    unittest.main()
