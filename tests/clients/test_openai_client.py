"""Calls the video-delete host through the official openai Python client.

Each test writes a queue into a temporary directory, starts
`video-delete-host serve` on a free port of 127.0.0.1 and calls
`client.videos.delete` with base_url http://127.0.0.1:PORT/v1. The client
keeps its default retry setting, so a response that it would retry shows up
as more than one request in the host's log.

Run: VIDEO_DELETE_HOST=target/debug/video-delete-host \
    python3 tests/clients/test_openai_client.py
(after `pip install -r tests/clients/requirements.txt` and
`cargo build -p video-delete-host`).
"""

from __future__ import annotations

import http.client
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent))

from queue_files import QUEUE_FILE, Job, snapshot, write_queue  # noqa: E402

HOST_BINARY_VARIABLE = "VIDEO_DELETE_HOST"

# Deadlines for the host to start and to log a request. A host that misses
# one has hung or died, so the test fails and shows the host's stderr. No
# test asserts how fast anything is.
STARTUP_DEADLINE_SECONDS = 120.0
LOG_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 30.0
CLIENT_TIMEOUT_SECONDS = 30.0

# Variables that the host reads as defaults for its flags. The tests unset
# them so every host runs with the documented defaults.
HOST_CONFIG_VARIABLES = ("VIDEO_DIR", "MODEL", "SEP", "RUST_LOG")

LISTEN_PATTERN = re.compile(r"serving DELETE /v1/videos/\{video_id\} listen=(127\.0\.0\.1:\d+)")

# The default of the `max_retries` argument of openai.OpenAI in openai 3.60.0.
OPENAI_DEFAULT_MAX_RETRIES = 2


def host_binary() -> str:
    """Return the host binary from VIDEO_DELETE_HOST, or raise naming the fix."""
    path = os.environ.get(HOST_BINARY_VARIABLE, "")
    if not path:
        raise RuntimeError(
            f"{HOST_BINARY_VARIABLE} is not set; build the host with "
            "`cargo build -p video-delete-host` and set "
            f"{HOST_BINARY_VARIABLE}=target/debug/video-delete-host"
        )
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"{HOST_BINARY_VARIABLE}={path} is not an executable file; build it with "
            "`cargo build -p video-delete-host`"
        )
    return os.path.abspath(path)


def setUpModule() -> None:
    host_binary()


class HostProcess:
    """A running `video-delete-host serve` and the lines of its stderr."""

    _barrier_numbers = itertools.count(1)

    def __init__(self, video_dir: Path, api_key_file: Path | None = None) -> None:
        command = [
            host_binary(),
            "serve",
            "--video-dir",
            str(video_dir),
            "--listen",
            "127.0.0.1:0",
        ]
        if api_key_file is not None:
            command += ["--api-key-file", str(api_key_file)]
        environment = {
            name: value for name, value in os.environ.items() if name not in HOST_CONFIG_VARIABLES
        }
        environment["RUST_LOG"] = "info"
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=environment,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        match = self.wait_for_line(LISTEN_PATTERN, STARTUP_DEADLINE_SECONDS)
        self.address = match.group(1)

    def _read_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def stderr_text(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def wait_for_line(self, pattern: re.Pattern[str], deadline_seconds: float) -> re.Match[str]:
        """Wait until a stderr line matches `pattern`, and return the match."""
        end = time.monotonic() + deadline_seconds
        with self._changed:
            while True:
                for line in self._lines:
                    match = pattern.search(line)
                    if match:
                        return match
                if self._process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        f"the host exited with code {self._process.returncode} before logging "
                        f"{pattern.pattern!r}; its stderr:\n" + "\n".join(self._lines)
                    )
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"the host logged no line matching {pattern.pattern!r} within "
                        f"{deadline_seconds} s; its stderr:\n" + "\n".join(self._lines)
                    )
                self._changed.wait(remaining)

    def sync_log(self) -> None:
        """Wait until every request that got a response is in the collected log.

        The host logs each request before it sends the response, and writes
        log lines in order. A request sent after the others is therefore
        logged after them, so once its line is read, theirs are too.
        """
        path = f"/v1/videos/log-barrier-{next(self._barrier_numbers)}"
        host, port = self.address.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=CLIENT_TIMEOUT_SECONDS)
        try:
            connection.request("GET", path)
            connection.getresponse().read()
        finally:
            connection.close()
        self.wait_for_line(
            re.compile(rf"request method=GET path={re.escape(path)} "), LOG_DEADLINE_SECONDS
        )

    def delete_statuses(self, video_id: str) -> list[int]:
        """Return the status of every DELETE of `video_id` that the host logged."""
        self.sync_log()
        pattern = re.compile(
            rf"request method=DELETE path=/v1/videos/{re.escape(video_id)} status=(\d+) "
        )
        with self._changed:
            return [int(m.group(1)) for line in self._lines if (m := pattern.search(line))]

    def stop(self) -> None:
        """Stop the host with SIGTERM, killing it if it does not exit in time."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reader.join()
        if self._process.stderr is not None:
            self._process.stderr.close()


def delete_video(client: openai.OpenAI, video_id: str):
    """Call client.videos.delete without its deprecation warning.

    openai 3.60.0 marks every method of client.videos as deprecated because
    OpenAI's own video API is scheduled to shut down. That warning is about
    OpenAI's service, not about this server.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return client.videos.delete(video_id)


class HostTestCase(unittest.TestCase):
    """Temporary queue directories and hosts, stopped and removed in tearDown."""

    def setUp(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="video-delete-openai-"))
        self.queue = self.root / "queue"
        self.hosts: list[HostProcess] = []

    def tearDown(self) -> None:
        for host in self.hosts:
            host.stop()
        shutil.rmtree(self.root)

    def start_host(self, api_key_file: Path | None = None) -> HostProcess:
        host = HostProcess(self.queue, api_key_file)
        self.hosts.append(host)
        return host

    def client_for(self, host: HostProcess, api_key: str) -> openai.OpenAI:
        client = openai.OpenAI(
            base_url=f"http://{host.address}/v1",
            api_key=api_key,
            timeout=CLIENT_TIMEOUT_SECONDS,
        )
        self.addCleanup(client.close)
        return client


class OpenAIClientTests(HostTestCase):
    """A host without an API key, which accepts any bearer token."""

    TARGET = Job("video_1764790000_4821", "completed", seconds="8", generate_duration=77)
    PROCESSING = Job("video_1764790100_7315", "processing", created_at=1764790100)
    QUEUED = Job("video_1764790200_2093", "queued", created_at=1764790200)

    def setUp(self) -> None:
        super().setUp()
        write_queue(self.queue, [self.TARGET, self.PROCESSING, self.QUEUED])

    def test_delete_returns_deleted_object(self) -> None:
        host = self.start_host()
        client = self.client_for(host, "any-key")
        before = snapshot(self.queue)

        result = delete_video(client, self.TARGET.video_id)

        self.assertIsInstance(result, openai.types.VideoDeleteResponse)
        self.assertEqual(result.id, self.TARGET.video_id)
        self.assertIs(result.deleted, True)
        self.assertEqual(result.object, "video.deleted")
        self.assertEqual(result.to_dict(), self.TARGET.deleted_body())
        self.assertEqual(
            (self.queue / QUEUE_FILE).read_text(encoding="utf-8"),
            self.PROCESSING.line() + self.QUEUED.line(),
        )
        self.assertFalse((self.queue / self.TARGET.video_id).exists())
        expected = {
            path: content
            for path, content in before.items()
            if path != QUEUE_FILE and not path.startswith(self.TARGET.video_id)
        }
        after = snapshot(self.queue)
        del after[QUEUE_FILE]
        self.assertEqual(after, expected)
        self.assertEqual(host.delete_statuses(self.TARGET.video_id), [200])

    def test_processing_job_raises_bad_request(self) -> None:
        host = self.start_host()
        client = self.client_for(host, "any-key")
        self.assertEqual(client.max_retries, OPENAI_DEFAULT_MAX_RETRIES)
        before = snapshot(self.queue)
        message = f"Video with id {self.PROCESSING.video_id} is processing and cannot be deleted."

        with self.assertRaises(openai.BadRequestError) as raised:
            delete_video(client, self.PROCESSING.video_id)

        error = raised.exception
        self.assertIn(message, str(error))
        self.assertEqual(error.message, f"Error code: 400 - {message}")
        self.assertEqual(error.status_code, 400)
        self.assertEqual(error.body, {"code": "400", "message": message})
        self.assertEqual(error.code, "400")
        self.assertEqual(host.delete_statuses(self.PROCESSING.video_id), [400])
        self.assertEqual(snapshot(self.queue), before)

    def test_unknown_id_raises_not_found(self) -> None:
        host = self.start_host()
        client = self.client_for(host, "any-key")
        before = snapshot(self.queue)
        unknown = "video_1764799999_0000"
        message = f"Video with id {unknown} not found."

        with self.assertRaises(openai.NotFoundError) as raised:
            delete_video(client, unknown)

        error = raised.exception
        self.assertEqual(error.message, f"Error code: 404 - {message}")
        self.assertEqual(error.status_code, 404)
        self.assertEqual(error.body, {"code": "404", "message": message})
        self.assertEqual(host.delete_statuses(unknown), [404])
        self.assertEqual(snapshot(self.queue), before)

    def test_server_error_not_retried(self) -> None:
        # The host sends `x-should-retry: false` with a 500, because part of
        # a delete may be done. Two calls log two requests, which shows
        # that delete_statuses counts every request that reaches the host.
        broken = self.QUEUED.line().replace("$###$1764790200$###$", "$###$soon$###$", 1)
        (self.queue / QUEUE_FILE).write_text(self.TARGET.line() + broken, encoding="utf-8")
        host = self.start_host()
        client = self.client_for(host, "any-key")
        before = snapshot(self.queue)
        message = 'Internal server error: line 2 of job.txt: created_at "soon" is not an integer'

        with self.assertRaises(openai.InternalServerError) as raised:
            delete_video(client, self.QUEUED.video_id)

        self.assertEqual(raised.exception.message, f"Error code: 500 - {message}")
        self.assertEqual(host.delete_statuses(self.QUEUED.video_id), [500])
        with self.assertRaises(openai.InternalServerError):
            delete_video(client, self.QUEUED.video_id)
        self.assertEqual(host.delete_statuses(self.QUEUED.video_id), [500, 500])
        self.assertEqual(snapshot(self.queue), before)

    def test_missing_queue_file_raises_not_found(self) -> None:
        (self.queue / QUEUE_FILE).unlink()
        host = self.start_host()
        client = self.client_for(host, "any-key")
        message = f"Job queue is missing and video with id {self.TARGET.video_id} not found."

        with self.assertRaises(openai.NotFoundError) as raised:
            delete_video(client, self.TARGET.video_id)

        self.assertEqual(raised.exception.message, f"Error code: 404 - {message}")
        self.assertFalse((self.queue / QUEUE_FILE).exists())
        self.assertTrue((self.queue / self.TARGET.video_id / "output.mp4").is_file())
        self.assertEqual(host.delete_statuses(self.TARGET.video_id), [404])


class OpenAIClientApiKeyTests(HostTestCase):
    """A host started with --api-key-file."""

    API_KEY = "vd-test-key-6f1c2a"
    TARGET = Job("video_1764790300_5567", "error", created_at=1764790300, generate_duration=12)
    PROCESSING = Job("video_1764790400_8140", "processing", created_at=1764790400)
    UNAUTHORIZED_MESSAGE = "Missing or invalid API key."

    def setUp(self) -> None:
        super().setUp()
        write_queue(self.queue, [self.TARGET, self.PROCESSING])
        self.key_file = self.root / "api-key"
        # The host strips surrounding whitespace, as a key file written by
        # `echo` ends in a newline.
        self.key_file.write_text(self.API_KEY + "\n", encoding="utf-8")
        self.host = self.start_host(self.key_file)

    def assert_unauthorized(self, error: openai.AuthenticationError) -> None:
        self.assertEqual(error.status_code, 401)
        self.assertEqual(error.message, f"Error code: 401 - {self.UNAUTHORIZED_MESSAGE}")
        self.assertEqual(error.body, {"code": "401", "message": self.UNAUTHORIZED_MESSAGE})
        self.assertEqual(error.response.headers.get("www-authenticate"), "Bearer")

    def test_wrong_key_raises_authentication_error(self) -> None:
        client = self.client_for(self.host, "vd-test-key-wrong")
        before = snapshot(self.queue)

        with self.assertRaises(openai.AuthenticationError) as raised:
            delete_video(client, self.TARGET.video_id)

        self.assert_unauthorized(raised.exception)
        self.assertEqual(snapshot(self.queue), before)
        self.assertEqual(self.host.delete_statuses(self.TARGET.video_id), [401])

    def test_key_prefix_raises_authentication_error(self) -> None:
        client = self.client_for(self.host, self.API_KEY[:-1])
        before = snapshot(self.queue)

        with self.assertRaises(openai.AuthenticationError) as raised:
            delete_video(client, self.TARGET.video_id)

        self.assert_unauthorized(raised.exception)
        self.assertEqual(snapshot(self.queue), before)

    def test_wrong_key_on_processing_job_raises_401(self) -> None:
        client = self.client_for(self.host, "vd-test-key-wrong")
        before = snapshot(self.queue)

        with self.assertRaises(openai.AuthenticationError) as raised:
            delete_video(client, self.PROCESSING.video_id)

        self.assert_unauthorized(raised.exception)
        self.assertEqual(snapshot(self.queue), before)
        self.assertEqual(self.host.delete_statuses(self.PROCESSING.video_id), [401])

    def test_right_key_deletes_job(self) -> None:
        client = self.client_for(self.host, self.API_KEY)

        result = delete_video(client, self.TARGET.video_id)

        self.assertEqual(result.id, self.TARGET.video_id)
        self.assertIs(result.deleted, True)
        self.assertEqual(result.to_dict(), self.TARGET.deleted_body())
        self.assertEqual(
            (self.queue / QUEUE_FILE).read_text(encoding="utf-8"), self.PROCESSING.line()
        )
        self.assertFalse((self.queue / self.TARGET.video_id).exists())
        self.assertTrue((self.queue / self.PROCESSING.video_id / "output.mp4").is_file())
        self.assertEqual(self.host.delete_statuses(self.TARGET.video_id), [200])

    def test_right_key_after_401_deletes_job(self) -> None:
        wrong = self.client_for(self.host, "vd-test-key-wrong")
        right = self.client_for(self.host, self.API_KEY)

        with self.assertRaises(openai.AuthenticationError):
            delete_video(wrong, self.TARGET.video_id)
        result = delete_video(right, self.TARGET.video_id)

        self.assertEqual(result.to_dict(), self.TARGET.deleted_body())
        self.assertEqual(self.host.delete_statuses(self.TARGET.video_id), [401, 200])


if __name__ == "__main__":
    unittest.main()
