"""API latency beside a bare Django view, on a catalogue of realistic size.

    .venv/bin/python bench/api_latency.py                    # SQLite
    .venv/bin/python bench/api_latency.py --database postgres

Builds a throwaway database with 1,000 published videos, 1,000 viewers,
100,000 comments (most on a few popular videos, as in life), favorites and
watch history, refreshes the recommendations, then times each API through
Django's whole middleware stack (the test client, no network) and prints the
median and 95th percentile beside a view that returns a constant JSON.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/hitrate_bench"


def configure(database: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if database == "postgres":
        os.environ["DATABASE_URL"] = POSTGRES_URL
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["HITRATE_DATA_DIR"] = str(ROOT / "var" / "bench")
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)

    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.urls"
    settings.DEBUG = False


def seed(videos: int, users: int, comments: int) -> str:
    """Fill the database; return the slug of the most commented video."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from comments.models import Comment, touch_videos
    from recommendations.models import Favorite, WatchHistory
    from videos.models import Video

    rng = random.Random(7)
    now = timezone.now()
    User = get_user_model()
    User.objects.bulk_create(
        User(username=f"viewer{n}", password="!") for n in range(users)
    )
    Video.objects.bulk_create(
        Video(
            title=f"Video {n}",
            slug=f"video-{n}",
            file=f"videos/video-{n:064x}.mp4",
            is_published=True,
            published_at=now - timezone.timedelta(minutes=n),
        )
        for n in range(videos)
    )
    user_ids = list(User.objects.values_list("id", flat=True))
    video_ids = list(Video.objects.values_list("id", flat=True))

    # Zipf-like popularity: a few videos get most of the talk and the views.
    weights = [1 / (rank + 1) for rank in range(len(video_ids))]
    for start in range(0, comments, 10_000):
        batch = range(start, min(start + 10_000, comments))
        picks = rng.choices(video_ids, weights, k=len(batch))
        Comment.objects.bulk_create(
            Comment(video_id=video, author_id=rng.choice(user_ids), body=f"c{n}")
            for n, video in zip(batch, picks, strict=True)
        )
    # bulk_create skips Comment.save(), which keeps each video's count.
    touch_videos(video_ids)
    pairs = {
        (user, video)
        for user, video in zip(
            rng.choices(user_ids, k=20_000),
            rng.choices(video_ids, weights, k=20_000),
            strict=True,
        )
    }
    WatchHistory.objects.bulk_create(
        WatchHistory(user_id=user, video_id=video) for user, video in pairs
    )
    Favorite.objects.bulk_create(
        Favorite(user_id=user, video_id=video) for user, video in list(pairs)[::4]
    )
    call_command("refreshrecommendations", verbosity=0)
    # Fresh statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE
    # (SQLite) would have them on a live site: the planner needs them.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Video.objects.get(pk=video_ids[0]).slug


def timed(client, path: str, runs: int, **headers) -> tuple[list[float], int]:
    for _ in range(runs // 10):
        client.get(path, headers=headers)
    samples = []
    status = 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    return samples, status


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--videos", type=int, default=1_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--comments", type=int, default=100_000)
    options = parser.parse_args()

    configure(options.database)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    if options.database == "sqlite":
        # A file, as the site uses, rather than the test runner's in-memory one.
        connection.settings_dict["TEST"]["NAME"] = str(
            ROOT / "var" / "bench" / "bench.sqlite3"
        )
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        slug = seed(options.videos, options.users, options.comments)
        seeded = time.perf_counter() - started

        anonymous, member = Client(), Client()
        member.force_login(get_user_model().objects.first())
        comments = f"/api/comments/?video={slug}"
        etag = anonymous.get(comments)["ETag"]
        cases = [
            ("bare JSON view", anonymous, "/bench/bare/", {}),
            ("comments list (200)", anonymous, comments, {}),
            ("comments list (304)", anonymous, comments, {"If-None-Match": etag}),
            ("recommendations", anonymous, f"/api/recommendations/?video={slug}", {}),
            ("/api/me/ (signed in)", member, "/api/me/", {}),
        ]
        rows = []
        for label, client, path, headers in cases:
            samples, status = timed(client, path, options.runs, **headers)
            rows.append((label, status, statistics.median(samples), samples))
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)

    bare = rows[0][2]
    print(
        f"{options.database}: {options.videos:,} videos, {options.comments:,} "
        f"comments, {options.runs} requests each (seeded in {seeded:.1f} s)"
    )
    print("| endpoint | status | median ms | p95 ms | median / bare |")
    print("|---|---|---|---|---|")
    for label, status, median, samples in rows:
        print(
            f"| {label} | {status} | {median:.2f} | {percentile(samples, 0.95):.2f} "
            f"| {median / bare:.2f}x |"
        )


if __name__ == "__main__":
    main()
