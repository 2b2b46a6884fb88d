#!/usr/bin/env python3
"""A stand-in for the video-generation service that writes job.txt.

It uses job.txt the way that service does: every access opens the file by
path and holds fcntl.flock(LOCK_EX) on it until the access is done. One
thread appends new jobs, each with its folder, and fsyncs the file. A worker
thread moves jobs from queued to processing and then to completed or error
by rewriting the whole file in place: read every line, seek(0), truncate,
write, flush, fsync, unlock.

Every change is logged to --log while the lock is still held, one
tab-separated record per line: the operation (`append` or `status`), the job
id, its new status and the whole line as written. The host takes the same
lock around each delete, so the log lists the changes in the order in which
the queue went through them. A worker whose processing job has vanished
logs `vanished` with its id; the host should never let that happen.

The producer stops by itself after --seconds, prints one JSON summary line
and exits 0, or exits 1 if job.txt ever held a line it did not write.
"""

import argparse
import fcntl
import json
import os
import random
import sys
import threading
import time
from contextlib import contextmanager

SEP = "$###$"
FIELD_COUNT = 18
FIRST_CREATED_AT = 1764800000

# Rounds of the worker that a job stays processing before it finishes.
PROCESSING_ROUNDS = 3

# Jobs that the worker processes at the same time.
MAX_PROCESSING = 2


class Producer:
    def __init__(self, queue_dir, log_path, seed):
        self.queue_dir = queue_dir
        self.job_txt = os.path.join(queue_dir, "job.txt")
        self.log = open(log_path, "a", encoding="utf-8")
        self.random = random.Random(seed)
        self.appended = 0
        self.status_writes = 0
        self.vanished = 0
        self.errors = []

    @contextmanager
    def locked(self, mode):
        """Open job.txt by path in `mode` and hold its flock while in use."""
        with open(self.job_txt, mode) as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            try:
                yield file
            finally:
                # The log must be complete before another process can read
                # the queue that it describes.
                self.log.flush()
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)

    def record(self, operation, job_id, status, line):
        self.log.write(f"{operation}\t{job_id}\t{status}\t{line}\n")

    def append(self, number, status):
        """Append job `number` with `status`, creating its folder first."""
        created_at = FIRST_CREATED_AT + number
        job_id = f"video_{created_at}_{number:05d}"
        line = format_job(job_id, status, created_at, number)
        with self.locked("ab") as file:
            folder = os.path.join(self.queue_dir, job_id)
            os.mkdir(folder)
            with open(os.path.join(folder, "input.wav"), "wb") as audio:
                audio.write(f"audio of {job_id}".encode())
            file.write(line.encode() + b"\n")
            file.flush()
            os.fsync(file.fileno())
            self.record("append", job_id, status, line)
        self.appended += 1

    def append_initial(self, count):
        """Append `count` jobs at once, a third each completed, error and
        queued, so there is something to delete from the start."""
        statuses = ["completed", "error", "queued"]
        for number in range(count):
            self.append(number, statuses[number % 3])

    def append_loop(self, deadline, first_number, interval):
        number = first_number
        while time.monotonic() < deadline:
            self.append(number, "queued")
            number += 1
            time.sleep(self.random.uniform(0, 2 * interval))

    def work_loop(self, deadline, interval):
        processing = {}  # job id -> round in which it started
        round_number = 0
        while time.monotonic() < deadline:
            round_number += 1
            self.work_round(processing, round_number)
            time.sleep(self.random.uniform(0, 2 * interval))

    def work_round(self, processing, round_number):
        """Finish one job that has processed long enough, start one queued
        job, and rewrite job.txt in place if anything changed."""
        with self.locked("r+b") as file:
            jobs = parse_queue(file.read())
            by_id = {fields[0]: fields for fields in jobs}
            if len(by_id) != len(jobs):
                raise RuntimeError("job.txt holds an id twice")
            changed = []
            for job_id in list(processing):
                if job_id not in by_id:
                    self.record("vanished", job_id, "processing", "")
                    self.vanished += 1
                    del processing[job_id]
            done = [
                job_id
                for job_id, started in sorted(processing.items(), key=lambda item: item[1])
                if round_number - started >= PROCESSING_ROUNDS
            ]
            if done:
                fields = by_id[done[0]]
                finish(fields, failed=self.random.random() < 0.2)
                changed.append(fields)
                del processing[done[0]]
            if len(processing) < MAX_PROCESSING:
                queued = [fields for fields in jobs if fields[1] == "queued"]
                if queued:
                    fields = queued[0]
                    start(fields)
                    changed.append(fields)
                    processing[fields[0]] = round_number
            if not changed:
                return
            file.seek(0)
            file.truncate()
            file.write(b"".join(SEP.join(fields).encode() + b"\n" for fields in jobs))
            file.flush()
            os.fsync(file.fileno())
            for fields in changed:
                self.record("status", fields[0], fields[1], SEP.join(fields))
                self.status_writes += 1

    def run_thread(self, target, *args):
        try:
            target(*args)
        except Exception as error:  # reported in the summary and exit code
            self.errors.append(f"{target.__name__}: {type(error).__name__}: {error}")


def format_job(job_id, status, created_at, number):
    """The 18 fields of a new job, as the service writes them."""
    prompt = f"Job {number}: a presenter explains the weather map, studio light"
    start_time = created_at + 2 if status != "queued" else 0
    duration = 120 + number % 300 if status == "completed" else 0
    end_time = start_time + duration if status != "queued" else 0
    error = "CUDA out of memory" if status == "error" else ""
    fields = [
        job_id, status, str(created_at), prompt, str(5 + number % 25), "720x1280",
        "standard", "25", "5.0", "40", "5.0", "5.0", str(number), "False",
        str(duration), str(start_time), str(end_time), error,
    ]
    return SEP.join(fields)


def parse_queue(content):
    """Split job.txt into the fields of each line, or raise if any line is
    not a whole job line as this producer writes them."""
    if content and not content.endswith(b"\n"):
        raise RuntimeError(f"job.txt ends in a torn line: {content[-200:]!r}")
    jobs = []
    for line in content.split(b"\n")[:-1] if content else []:
        fields = line.decode("utf-8").split(SEP)
        if len(fields) != FIELD_COUNT:
            raise RuntimeError(f"job.txt holds a line of {len(fields)} fields: {line[:200]!r}")
        jobs.append(fields)
    return jobs


def start(fields):
    fields[1] = "processing"
    fields[15] = str(int(time.time()))


def finish(fields, failed):
    end_time = int(time.time())
    fields[16] = str(end_time)
    if failed:
        fields[1] = "error"
        fields[17] = "CUDA out of memory"
    else:
        fields[1] = "completed"
        fields[14] = str(max(1, end_time - int(fields[15])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", required=True, help="queue directory holding job.txt")
    parser.add_argument("--log", required=True, help="file to append the change log to")
    parser.add_argument("--seconds", type=float, required=True, help="how long to run, in s")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pauses and outcomes")
    parser.add_argument("--initial", type=int, default=300, help="jobs appended at once")
    parser.add_argument(
        "--interval-ms", type=float, default=5.0, help="mean pause between accesses, in ms"
    )
    args = parser.parse_args()

    producer = Producer(args.queue, args.log, args.seed)
    deadline = time.monotonic() + args.seconds
    interval = args.interval_ms / 1000
    producer.run_thread(producer.append_initial, args.initial)
    threads = [
        threading.Thread(
            target=producer.run_thread, args=(producer.append_loop, deadline, args.initial, interval)
        ),
        threading.Thread(target=producer.run_thread, args=(producer.work_loop, deadline, interval)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    producer.log.close()
    summary = {
        "appended": producer.appended,
        "status_writes": producer.status_writes,
        "vanished": producer.vanished,
        "errors": producer.errors,
    }
    print(json.dumps(summary), flush=True)
    return 1 if producer.errors else 0


if __name__ == "__main__":
    sys.exit(main())
