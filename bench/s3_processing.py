"""Processing a staged upload in S3: wall time and peak memory, beside a plain copy.

    .venv/bin/python bench/s3_processing.py [--sizes 50 200] [--repeat 3]

Starts moto's server in a process of its own, so its memory is not counted,
and stages a real faststart MP4 padded with zeros to each size (in MiB).
Each measurement runs in a fresh child process, so a peak belongs to that
run alone:

1. ``processing.store`` on the staged object (size and type checks, one
   streamed GET for the SHA-256, ranged GETs for the duration, a
   server-side copy to the content-hashed name, the stage deleted): its
   wall time, and how far RSS rose during the call (VmHWM, the peak RSS,
   is reset just before it through /proc/self/clear_refs, so start-up
   peaks do not count);
2. the same call under tracemalloc, for the peak of Python's allocations;
   in a child of its own, as tracing slows every allocation and adds
   memory of its own to the RSS;
3. as the floor, boto3's managed copy of the same staged object to another
   key, which is what ``aws s3 cp s3://... s3://...`` does. moto copies
   each 8 MiB part by reading the whole source object, so under moto the
   floor grows faster than the size does; S3 copies inside the service;
4. as the floor that holds in S3 too, one streamed GET of the staged
   object, read in the same chunks and thrown away: hashing needs every
   byte once, so processing can be no faster than this.

Each runs ``--repeat`` times; the table shows the median wall time and the
largest peak. Memory is flat when what the largest size grows beyond the
smallest is under 1 % of the extra file: a process that held the file, or
any fixed share of it, would grow by that much at least.

A second table splits the processing time by S3 operation, timed from
botocore's before-call to after-call events (a GetObject's headers, not its
body); what is left is streaming the body through SHA-256.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024**2
BUCKET = "hitrate-bench-videos"
SOURCE = "bench/source.mp4"
STAGED = "staging/bench-upload"
FLOOR_COPY = "bench/floor-copy.mp4"
FLAT_SHARE = 0.01
MODES = ("store", "traced", "floor", "read")


def child_environment(data_dir: str) -> dict[str, str]:
    # processing formats sizes with Django's filesizeformat: settings must load.
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "true",
        "HITRATE_DATA_DIR": data_dir,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    moto_server = Path(sys.executable).parent / "moto_server"
    server = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    ready = f"{endpoint}/moto-api/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            # The moto server just started, on loopback.
            urllib.request.urlopen(ready, timeout=1).close()  # noqa: S310
        except OSError:
            time.sleep(0.2)
        else:
            return server, endpoint
    server.terminate()
    raise SystemExit("moto_server did not start within 30 s")


def staging_client(endpoint: str):
    """A client that uploads as a browser does through presigned URLs.

    boto3 adds a CRC32 to each part by default; moto keeps the parts'
    composite checksum on a CopyObject of the result as if it were the whole
    object's, and every later GET of the copy fails its checksum check.
    Browsers send no checksum, so the staged objects here carry none either.
    """
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
        ),
    )


def make_clip(folder: Path, environment: dict[str, str]) -> bytes:
    """A real two-second faststart MP4, made as the demo catalogue makes them."""
    import django

    os.environ.update(environment)
    django.setup()
    from videos import demo

    path = folder / "clip.mp4"
    demo.make_clip(path, "testsrc2", 2, size=(160, 90))
    return path.read_bytes()


def padded_file(folder: Path, clip: bytes, size: int) -> Path:
    """The clip followed by zeros up to size bytes, written without a buffer."""
    path = folder / f"upload-{size}.mp4"
    with path.open("wb") as out:
        out.write(clip)
        out.truncate(size)
    return path


def status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> None:
    """Start VmHWM (peak RSS) again from the current RSS (Linux, proc(5))."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def time_operations(client) -> Counter:
    """Seconds spent in each S3 operation the client calls, one at a time."""
    spent: Counter = Counter()
    started: dict[str, float] = {}

    def before(model, **kwargs):
        started[model.name] = time.perf_counter()

    def after(model, **kwargs):
        spent[model.name] += time.perf_counter() - started.pop(model.name)

    client.meta.events.register("before-call.s3", before)
    client.meta.events.register("after-call.s3", after)
    return spent


def measure(mode: str, endpoint: str) -> dict:
    """One measurement, in this (child) process; returns what it saw."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from videos import processing
    from videos.storages import VideoStorage

    client = staging_client(endpoint)
    metadata = VideoStorage(bucket_name=BUCKET).metadata_for
    # Loads the client's models and opens a connection before the baseline.
    size = client.head_object(Bucket=BUCKET, Key=STAGED)["ContentLength"]

    # Processing calls S3 one request at a time; the managed copy does not.
    operations = time_operations(client) if mode == "store" else Counter()
    if mode == "traced":
        tracemalloc.start()
    # The peak of this call alone, not of Django's start-up before it.
    reset_peak_rss()
    before = status_bytes("VmRSS")
    started = time.perf_counter()
    if mode == "floor":
        client.copy({"Bucket": BUCKET, "Key": STAGED}, BUCKET, FLOOR_COPY)
        stored = FLOOR_COPY
    elif mode == "read":
        body = client.get_object(Bucket=BUCKET, Key=STAGED)["Body"]
        for _chunk in body.iter_chunks(processing.READ_CHUNK):
            pass
        stored = None
    else:
        stored = processing.store(
            client, BUCKET, STAGED, max_bytes=size, metadata=metadata
        ).name
    wall = time.perf_counter() - started
    peak = status_bytes("VmHWM")
    traced = tracemalloc.get_traced_memory()[1] if mode == "traced" else 0
    return {
        "wall": wall,
        "rss_growth": max(0, peak - before),
        "traced_peak": traced,
        "stored": stored,
        "operations": dict(operations),
    }


def run_child(mode: str, endpoint: str, environment: dict[str, str]) -> dict:
    finished = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--endpoint", endpoint],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{finished.stderr}")
    return json.loads(finished.stdout)


def bench_size(client, endpoint, environment, path: Path, repeat: int) -> dict:
    from videos import s3

    client.upload_file(str(path), BUCKET, SOURCE)
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for _ in range(repeat):
        for mode in runs:
            # Each run starts from a freshly staged object and an empty
            # target, so the copy is never skipped as already stored.
            client.copy_object(
                Bucket=BUCKET, Key=STAGED, CopySource={"Bucket": BUCKET, "Key": SOURCE}
            )
            result = run_child(mode, endpoint, environment)
            if result["stored"]:
                s3.delete_every_version(client, BUCKET, result["stored"])
            s3.delete_every_version(client, BUCKET, STAGED)
            runs[mode].append(result)
    s3.delete_every_version(client, BUCKET, SOURCE)

    return {
        "store_wall": statistics.median(r["wall"] for r in runs["store"]),
        "floor_wall": statistics.median(r["wall"] for r in runs["floor"]),
        "read_wall": statistics.median(r["wall"] for r in runs["read"]),
        "rss_growth": max(r["rss_growth"] for r in runs["store"]),
        "operations": median_operations(runs["store"]),
        "traced_peak": max(r["traced_peak"] for r in runs["traced"]),
    }


def median_operations(runs: list[dict]) -> dict[str, float]:
    names = sorted({name for run in runs for name in run["operations"]})
    return {
        name: statistics.median(run["operations"].get(name, 0.0) for run in runs)
        for name in names
    }


def print_operations(results: dict[int, dict]) -> None:
    names = sorted(
        {name for result in results.values() for name in result["operations"]}
    )
    print("Processing time by S3 operation, seconds (median):")
    print(f"| size | {' | '.join(names)} | streaming through SHA-256 |")
    print("|---|" + "---|" * (len(names) + 1))
    for size, result in results.items():
        spent = result["operations"]
        rest = result["store_wall"] - sum(spent.values())
        cells = " | ".join(f"{spent.get(name, 0.0):.2f}" for name in names)
        print(f"| {size} MiB | {cells} | {rest:.2f} |")


def flatness(results: dict[int, dict]) -> str:
    smallest, largest = min(results), max(results)
    low, high = results[smallest]["rss_growth"], results[largest]["rss_growth"]
    traced_low = results[smallest]["traced_peak"]
    traced_high = results[largest]["traced_peak"]
    extra_file = (largest - smallest) * MIB
    share = (high - low) / extra_file if extra_file else 0.0
    figures = (
        f"peak RSS growth {high / MIB:.1f} MiB at {largest} MiB against "
        f"{low / MIB:.1f} MiB at {smallest} MiB, {share:.1%} of the "
        f"{largest - smallest} MiB more file; tracemalloc peak "
        f"{traced_high / MIB:.1f} MiB against {traced_low / MIB:.1f} MiB"
    )
    verdict = "stayed flat" if share < FLAT_SHARE else "grew with the file"
    return f"Memory {verdict}: {figures}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--endpoint")
    options = parser.parse_args()

    if options.child:
        print(json.dumps(measure(options.child, options.endpoint)))
        return

    sys.path.insert(0, str(ROOT))
    server, endpoint = start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="hitrate-bench-") as folder:
            environment = child_environment(folder)
            client = staging_client(endpoint)
            client.create_bucket(Bucket=BUCKET)
            client.put_bucket_versioning(
                Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
            )
            clip = make_clip(Path(folder), environment)
            results = {}
            for size in sorted(options.sizes):
                path = padded_file(Path(folder), clip, size * MIB)
                results[size] = bench_size(
                    client, endpoint, environment, path, options.repeat
                )
                path.unlink()
    finally:
        server.terminate()
        server.wait()

    print(
        f"processing.store against moto_server on loopback, median of "
        f"{options.repeat} runs (memory: the largest)"
    )
    print(
        "| size | processing s | boto3 copy s | ratio | one streamed read s "
        "| ratio | peak RSS growth MiB | tracemalloc peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size, result in results.items():
        store, floor, read = (
            result["store_wall"],
            result["floor_wall"],
            result["read_wall"],
        )
        print(
            f"| {size} MiB | {store:.2f} | {floor:.2f} | {store / floor:.2f}x "
            f"| {read:.2f} | {store / read:.2f}x "
            f"| {result['rss_growth'] / MIB:.1f} "
            f"| {result['traced_peak'] / MIB:.1f} |"
        )
    print(flatness(results))
    print()
    print_operations(results)


if __name__ == "__main__":
    main()
