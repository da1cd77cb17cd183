"""The edge's speed: cache hits beside nginx serving a file, and a real browser.

    .venv/bin/python bench/edge_latency.py [--runs 500] [--visits 10]

Needs nginx, Chromium (/usr/bin/chromium) and the demo content (`make run`
loads it). Starts the site and the edge on free loopback ports (lab.harness),
then measures:

1. a thumbnail answered from the edge's cache (`Hit from edge`) beside the
   same file served by a bare nginx from disk, on fresh connections;
2. in headless Chromium through the edge, with an empty browser cache each
   visit and a warm edge, the time from navigation to the video's first
   presented frame and to the thumbnail (the player's poster) having loaded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
STATIC_CONF = """
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""
FIRST_FRAME = """
async () => {
    const video = document.querySelector("video");
    video.muted = true;
    const frame = new Promise((resolve) =>
        video.requestVideoFrameCallback(() => resolve(performance.now()))
    );
    video.play();
    return await frame;
}
"""
POSTER_LOADED = """
(url) => {
    const entry = performance.getEntriesByName(url)[0];
    return entry ? entry.responseEnd : null;
}
"""


def configure() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def summary(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return statistics.median(ordered), p95


def times(url: str, runs: int, expect: str | None) -> list[float]:
    from lab.harness import fetch

    samples = []
    for _ in range(runs):
        result = fetch(url)
        if result.status != 200 or (expect and result.headers["X-Cache"] != expect):
            raise SystemExit(f"{url}: {result.status} {result.headers['X-Cache']}")
        samples.append(result.seconds * 1000)
    return samples


def bare_nginx(root: Path, folder: Path):
    from edge.runner import Edge  # noqa: F401  (fails early without the edge)
    from lab.harness import free_port

    port = free_port()
    (folder / "nginx.conf").write_text(
        STATIC_CONF.format(folder=folder, port=port, root=root)
    )
    subprocess.run(
        ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")], check=True
    )
    return port


def browser_visits(page_url: str, poster_url: str, visits: int):
    from playwright.sync_api import sync_playwright

    frames, posters = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        for _ in range(visits + 1):
            context = browser.new_context()  # an empty browser cache
            page = context.new_page()
            page.goto(page_url, wait_until="domcontentloaded")
            frame = page.evaluate(FIRST_FRAME)
            page.wait_for_load_state("load")
            poster = page.evaluate(POSTER_LOADED, poster_url)
            frames.append(frame)
            posters.append(poster)
            context.close()
        browser.close()
    # The first visit warms the edge; the rest are what a viewer sees.
    return frames[1:], [p for p in posters[1:] if p is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--visits", type=int, default=10)
    options = parser.parse_args()

    configure()
    from django.conf import settings

    from lab.harness import Lab
    from videos.models import Video

    video = Video.objects.published().exclude(thumbnail="").first()
    if video is None:
        raise SystemExit("No published video with a thumbnail: run `make run`.")
    thumbnail = video.thumbnail.url

    with Lab() as lab, tempfile.TemporaryDirectory() as scratch:
        times(lab.edge_url + thumbnail, 2, None)  # miss, then stored
        edge = times(lab.edge_url + thumbnail, options.runs, "Hit from edge")
        port = bare_nginx(Path(settings.MEDIA_ROOT).parent / "media", Path(scratch))
        try:
            bare = times(
                f"http://127.0.0.1:{port}{thumbnail.removeprefix('/media')}",
                options.runs,
                None,
            )
        finally:
            subprocess.run(
                ["nginx", "-p", scratch, "-c", f"{scratch}/nginx.conf", "-s", "quit"],
                check=False,
            )
        page = lab.edge_url + video.get_absolute_url()
        frames, posters = browser_visits(page, lab.edge_url + thumbnail, options.visits)

    edge_median, edge_p95 = summary(edge)
    bare_median, bare_p95 = summary(bare)
    print(f"{options.runs} requests each for {thumbnail} (fresh connections)")
    print("| what | median ms | p95 ms | ratio |")
    print("|---|---|---|---|")
    print(f"| nginx serving the file | {bare_median:.2f} | {bare_p95:.2f} | 1.00x |")
    print(
        f"| edge cache hit | {edge_median:.2f} | {edge_p95:.2f} "
        f"| {edge_median / bare_median:.2f}x |"
    )
    print(f"\nChromium through the edge, {options.visits} visits, empty browser cache")
    frame_median, frame_p95 = summary(frames)
    print(f"video first frame: median {frame_median:.0f} ms, p95 {frame_p95:.0f} ms")
    if posters:
        poster_median, poster_p95 = summary(posters)
        print(
            f"thumbnail (poster) loaded: median {poster_median:.0f} ms, "
            f"p95 {poster_p95:.0f} ms"
        )


if __name__ == "__main__":
    main()
