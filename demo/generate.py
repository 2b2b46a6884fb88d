#!/usr/bin/env python3
"""Generate the demo job-queue directory that the README quick start uses.

The directory has the layout that the video-generation service writes under
its VIDEO_DIR, so the delete tool can be tried on realistic data:

    queue/job.txt             one line per job, 18 fields joined by "$###$"
    queue/<id>/input.json     the request: prompt, audio type, media paths
    queue/<id>/portrait.png   the uploaded reference image (64x64 RGB)
    queue/<id>/speech.wav     the uploaded speech (0.5 s, 8 kHz, 16-bit mono)
    queue/<id>/output.mp4     the generated clip, for completed jobs only

The six jobs cover every status: two completed, one error, one processing
and two queued. Their timestamps follow a single worker that runs one job at
a time, and the paths in input.json use the service's default VIDEO_DIR,
/home/user/video.

The PNG, WAV, JSON and job.txt files come from the Python standard library
alone and are byte-identical on every run with the same zlib. The MP4 files
need ffmpeg with libx264 on PATH (on Debian: apt-get install ffmpeg). Two
runs with ffmpeg 5.1.9 from Debian 12 wrote identical bytes, but another
ffmpeg or x264 version may encode different ones.

Usage: python3 demo/generate.py [--output DIR]
"""

import argparse
import json
import math
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path

# Default VIDEO_DIR of the service. input.json stores absolute paths under it.
SERVICE_VIDEO_DIR = "/home/user/video"
FIELD_SEPARATOR = "$###$"

IMAGE_NAME = "portrait.png"
AUDIO_NAME = "speech.wav"
OUTPUT_NAME = "output.mp4"

IMAGE_SIDE = 64
AUDIO_SAMPLE_RATE = 8000
AUDIO_SECONDS = 0.5
# The demo clips are 1 s long at the 25 fps that job.txt records, and scaled
# down from the requested size by this factor (720x1280 becomes 72x128).
OUTPUT_SECONDS = 1
OUTPUT_FPS = 25
OUTPUT_SCALE_DIVISOR = 10
# Sampling steps, the same for every demo job.
SAMPLING_STEPS = 40


@dataclass(frozen=True)
class Palette:
    """RGB colors of one generated portrait."""

    background_top: tuple[int, int, int]
    background_bottom: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]


@dataclass(frozen=True)
class Job:
    """One queue entry, with the values that job.txt and input.json store."""

    created_at: int
    suffix: int
    status: str
    prompt: str
    seconds: int
    size: str
    quality: str
    shift: float
    guide_scale: float
    audio_guide_scale: float
    seed: int
    logo_video: bool
    audio_type: str
    start_time: int
    end_time: int
    error: str
    palette: Palette
    voice_pitch_hz: float

    @property
    def job_id(self) -> str:
        return f"video_{self.created_at}_{self.suffix}"

    @property
    def generate_duration(self) -> int:
        # Only a finished generation has a duration. A failed job keeps its
        # start and end times but reports 0, because it produced no video.
        # NOTE: this rule for failed jobs is a choice for the demo, not read
        # from the service's code.
        if self.status == "completed":
            return self.end_time - self.start_time
        return 0


# One worker runs the jobs in created_at order: each job starts when the one
# before it ends, and the last two are still waiting.
JOBS = [
    Job(
        created_at=1764789412,
        suffix=4821,
        status="completed",
        prompt="A news anchor in a navy blazer reads the morning headlines at a glass desk",
        seconds=15,
        size="720x1280",
        quality="standard",
        shift=5.0,
        guide_scale=5.0,
        audio_guide_scale=5.0,
        seed=42,
        logo_video=False,
        audio_type="add",
        start_time=1764789415,
        end_time=1764789796,
        error="",
        palette=Palette(
            (70, 90, 140), (30, 40, 70), (224, 182, 150), (60, 40, 30), (30, 45, 90)
        ),
        voice_pitch_hz=125.0,
    ),
    Job(
        created_at=1764789530,
        suffix=7315,
        status="completed",
        prompt='A teacher smiles and says "welcome back" to the class, soft window light',
        seconds=10,
        size="1280x720",
        quality="standard",
        shift=5.0,
        guide_scale=5.0,
        audio_guide_scale=4.0,
        seed=1234,
        logo_video=True,
        audio_type="para",
        start_time=1764789796,
        end_time=1764790041,
        error="",
        palette=Palette(
            (200, 210, 180),
            (150, 160, 120),
            (198, 140, 105),
            (25, 20, 20),
            (170, 60, 50),
        ),
        voice_pitch_hz=210.0,
    ),
    Job(
        created_at=1764789688,
        suffix=2093,
        status="error",
        prompt="A chef explains how to fold dumplings, close-up, warm kitchen",
        seconds=30,
        size="720x1280",
        quality="high",
        shift=5.0,
        guide_scale=5.0,
        audio_guide_scale=5.0,
        seed=7,
        logo_video=False,
        audio_type="add",
        start_time=1764790041,
        end_time=1764790063,
        error=(
            "CUDA out of memory. Tried to allocate 3.52 GiB. "
            "GPU 0 has a total capacity of 79.25 GiB of which 2.06 GiB is free."
        ),
        palette=Palette(
            (240, 230, 210),
            (210, 190, 160),
            (236, 200, 170),
            (120, 70, 30),
            (245, 245, 245),
        ),
        voice_pitch_hz=150.0,
    ),
    Job(
        created_at=1764789901,
        suffix=5567,
        status="processing",
        prompt="Une guide de musée présente un tableau, plan rapproché, éclairage doux",
        seconds=15,
        size="720x1280",
        quality="standard",
        shift=7.0,
        guide_scale=5.0,
        audio_guide_scale=5.0,
        seed=2025,
        logo_video=True,
        audio_type="add",
        start_time=1764790063,
        end_time=0,
        error="",
        palette=Palette(
            (90, 60, 80), (40, 25, 35), (180, 125, 95), (15, 10, 10), (90, 120, 60)
        ),
        voice_pitch_hz=190.0,
    ),
    Job(
        created_at=1764790044,
        suffix=8140,
        status="queued",
        prompt="A product reviewer holds up a phone and talks about battery life",
        seconds=5,
        size="1280x720",
        quality="standard",
        shift=5.0,
        guide_scale=5.0,
        audio_guide_scale=5.0,
        seed=99,
        logo_video=False,
        audio_type="para",
        start_time=0,
        end_time=0,
        error="",
        palette=Palette(
            (60, 160, 170), (20, 80, 90), (230, 190, 160), (200, 160, 90), (40, 40, 40)
        ),
        voice_pitch_hz=135.0,
    ),
    Job(
        created_at=1764790187,
        suffix=3906,
        status="queued",
        prompt="An elderly storyteller by a fireplace begins a tale, cinematic, 35mm",
        seconds=20,
        size="720x1280",
        quality="standard",
        shift=5.0,
        guide_scale=5.0,
        audio_guide_scale=5.0,
        seed=31337,
        logo_video=False,
        audio_type="add",
        start_time=0,
        end_time=0,
        error="",
        palette=Palette(
            (110, 60, 30), (40, 20, 10), (210, 170, 140), (220, 220, 220), (100, 70, 50)
        ),
        voice_pitch_hz=105.0,
    ),
]


def format_job_line(job: Job) -> str:
    """Format one job.txt line, ended by a newline, in the service's field order."""
    fields = [
        job.job_id,
        job.status,
        str(job.created_at),
        job.prompt,
        str(job.seconds),
        job.size,
        job.quality,
        str(OUTPUT_FPS),
        repr(job.shift),
        str(SAMPLING_STEPS),
        repr(job.guide_scale),
        repr(job.audio_guide_scale),
        str(job.seed),
        str(job.logo_video),
        str(job.generate_duration),
        str(job.start_time),
        str(job.end_time),
        job.error,
    ]
    for index, value in enumerate(fields):
        if FIELD_SEPARATOR in value or "\n" in value:
            raise ValueError(
                f"job {job.job_id}: field {index} contains a separator or newline: {value!r}"
            )
    return FIELD_SEPARATOR.join(fields) + "\n"


def build_input_json(job: Job) -> str:
    """Build the input.json text with json.dumps defaults and no trailing newline."""
    job_dir = f"{SERVICE_VIDEO_DIR}/{job.job_id}"
    request = {
        "prompt": job.prompt,
        "audio_type": job.audio_type,
        "cond_video": f"{job_dir}/{IMAGE_NAME}",
        "cond_audio": {"person1": f"{job_dir}/{AUDIO_NAME}"},
    }
    return json.dumps(request, ensure_ascii=False)


def inside_ellipse(
    x: int, y: int, center_x: float, center_y: float, radius_x: float, radius_y: float
) -> bool:
    return ((x - center_x) / radius_x) ** 2 + ((y - center_y) / radius_y) ** 2 <= 1.0


def blend(
    top: tuple[int, int, int], bottom: tuple[int, int, int], weight: float
) -> tuple[int, int, int]:
    return tuple(round(a + (b - a) * weight) for a, b in zip(top, bottom))


def portrait_pixel(x: int, y: int, palette: Palette) -> tuple[int, int, int]:
    """Return the color of one pixel of a simple head-and-shoulders figure."""
    center = IMAGE_SIDE / 2
    if (y == 26 or y == 27) and (x in (26, 27) or x in (37, 38)):
        return (20, 20, 25)  # eyes
    if y == 36 and 28 <= x <= 36:
        return (150, 60, 60)  # mouth
    head = inside_ellipse(x, y, center, 28, 12, 15)
    if inside_ellipse(x, y, center, 24, 14, 14) and y < 20:
        return palette.hair
    if head:
        return palette.skin
    if 28 <= x <= 36 and 40 <= y <= 50:
        return palette.skin  # neck
    if inside_ellipse(x, y, center, 72, 30, 24):
        return palette.shirt
    return blend(
        palette.background_top, palette.background_bottom, y / (IMAGE_SIDE - 1)
    )


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(chunk_type + data) & 0xFFFFFFFF
    return (
        struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", checksum)
    )


def encode_portrait_png(palette: Palette) -> bytes:
    """Encode a 64x64 8-bit RGB PNG with filter type 0 on every row."""
    rows = bytearray()
    for y in range(IMAGE_SIDE):
        rows.append(0)
        for x in range(IMAGE_SIDE):
            rows.extend(portrait_pixel(x, y, palette))
    # IHDR: width, height, bit depth 8, color type 2 (RGB), deflate, no
    # interlace.
    header = struct.pack(">IIBBBBB", IMAGE_SIDE, IMAGE_SIDE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + png_chunk(b"IEND", b"")
    )


def synthesize_speech_samples(pitch_hz: float, seed: int) -> list[int]:
    """Synthesize a voice-like signal from harmonics of a gliding pitch, in syllables.

    This is not speech, only a deterministic stand-in with the rhythm and
    spectrum of a voice, so the files stay small and need no recording.
    """
    noise = random.Random(seed)
    sample_count = int(AUDIO_SAMPLE_RATE * AUDIO_SECONDS)
    # Harmonic weights that peak near 500 Hz and 1500 Hz, as vowel formants do.
    harmonics = []
    for n in range(1, 20):
        frequency = n * pitch_hz
        if frequency >= AUDIO_SAMPLE_RATE / 2:
            break
        weight = math.exp(-(((frequency - 500) / 300) ** 2)) + 0.5 * math.exp(
            -(((frequency - 1500) / 400) ** 2)
        )
        harmonics.append((n, weight))
    total_weight = sum(weight for _, weight in harmonics)
    phase = 0.0
    samples = []
    for index in range(sample_count):
        t = index / AUDIO_SAMPLE_RATE
        # The pitch glides down by up to 10 % over the clip, like a falling
        # sentence intonation.
        frequency = pitch_hz * (1.0 - 0.1 * t / AUDIO_SECONDS)
        phase += 2 * math.pi * frequency / AUDIO_SAMPLE_RATE
        voiced = (
            sum(weight * math.sin(n * phase) for n, weight in harmonics) / total_weight
        )
        # Syllables at 5 per second, with a 20 ms fade at both clip ends.
        syllable = math.sin(math.pi * 5 * t) ** 2
        fade = min(1.0, t / 0.02, (AUDIO_SECONDS - t) / 0.02)
        value = (0.9 * voiced * syllable + 0.02 * noise.uniform(-1.0, 1.0)) * fade
        samples.append(max(-32767, min(32767, round(value * 0.6 * 32767))))
    return samples


def write_speech_wav(path: Path, pitch_hz: float, seed: int) -> None:
    samples = synthesize_speech_samples(pitch_hz, seed)
    with wave.open(str(path), "wb") as wav_file:
        wav_file.setnchannels(1)
        wav_file.setsampwidth(2)
        wav_file.setframerate(AUDIO_SAMPLE_RATE)
        wav_file.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def output_dimensions(size: str) -> tuple[int, int]:
    """Return the demo clip's width and height for a WIDTHxHEIGHT size string."""
    width_text, height_text = size.split("x")
    return (
        int(width_text) // OUTPUT_SCALE_DIVISOR,
        int(height_text) // OUTPUT_SCALE_DIVISOR,
    )


def encode_output_mp4(ffmpeg: str, job_dir: Path, size: str) -> None:
    """Encode a 1 s H.264/AAC clip of the portrait over the padded speech."""
    width, height = output_dimensions(size)
    # The square portrait is scaled to the frame's shorter side and centered
    # on a dark background, because the clip is 9:16 or 16:9.
    side = min(width, height)
    video_filter = (
        f"scale={side}:{side},pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=0x101018,"
        f"format=yuv420p"
    )
    # A temporary name keeps a failed encode from leaving a broken output.mp4.
    with tempfile.NamedTemporaryFile(
        suffix=".mp4", dir=job_dir, delete=False
    ) as partial:
        partial_path = Path(partial.name)
    inputs = ["-loop", "1", "-framerate", str(OUTPUT_FPS)]
    inputs += ["-i", str(job_dir / IMAGE_NAME), "-i", str(job_dir / AUDIO_NAME)]
    filters = ["-vf", video_filter, "-af", "apad", "-t", str(OUTPUT_SECONDS)]
    codecs = ["-c:v", "libx264", "-preset", "veryslow", "-crf", "32", "-threads", "1"]
    codecs += ["-c:a", "aac", "-b:a", "16k"]
    # Bit-exact flags, one encoder thread and no metadata keep the bytes the
    # same across runs.
    container = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags", "+bitexact"]
    container += ["-movflags", "+faststart"]
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    command += inputs + filters + codecs + container + [str(partial_path)]
    try:
        subprocess.run(command, check=True)
        partial_path.replace(job_dir / OUTPUT_NAME)
    except subprocess.CalledProcessError as error:
        sys.exit(
            f"error: ffmpeg failed with exit code {error.returncode} while encoding "
            f"{job_dir / OUTPUT_NAME}. Its message is printed above. This script "
            "needs an ffmpeg build with the libx264 encoder."
        )
    finally:
        partial_path.unlink(missing_ok=True)


def find_ffmpeg() -> str:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit(
            "error: ffmpeg not found on PATH. It is needed to encode output.mp4 "
            "for the completed jobs. Install it (on Debian: apt-get install ffmpeg) "
            "and run this script again."
        )
    return ffmpeg


def generate(queue_dir: Path, ffmpeg: str) -> None:
    queue_dir.mkdir(parents=True, exist_ok=True)
    for job in JOBS:
        job_dir = queue_dir / job.job_id
        job_dir.mkdir(exist_ok=True)
        (job_dir / "input.json").write_text(build_input_json(job), encoding="utf-8")
        (job_dir / IMAGE_NAME).write_bytes(encode_portrait_png(job.palette))
        write_speech_wav(job_dir / AUDIO_NAME, job.voice_pitch_hz, job.seed)
        if job.status == "completed":
            encode_output_mp4(ffmpeg, job_dir, job.size)
    lines = "".join(format_job_line(job) for job in JOBS)
    (queue_dir / "job.txt").write_bytes(lines.encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "queue",
        help="queue directory to write. Files of the demo jobs are overwritten and "
        "other files are left alone (default: queue/ beside this script)",
    )
    arguments = parser.parse_args()
    # Check for ffmpeg first, so a missing install leaves no partial queue.
    ffmpeg = find_ffmpeg()
    generate(arguments.output, ffmpeg)
    print(f"wrote {len(JOBS)} jobs to {arguments.output}")


if __name__ == "__main__":
    main()
