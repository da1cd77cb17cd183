"""The cache lab command: its harness, its workload and the report's figures.

The report's arithmetic is checked on a hand-made log; the rest runs a real
origin thread and a real nginx, and checks the report against the edge's own
access log.
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from http import HTTPStatus
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from caching.policies import PAGE
from comments.models import Comment
from edge import config, runner
from lab import report, workload
from lab.harness import HOST, Lab, fetch
from lab.management.commands.cachelab import NO_CONTENT
from lab.report import Timing
from recommendations import ranking
from tests.conftest import image_bytes
from tests.servers import missing
from videos.models import Video

HIT = config.X_CACHE["HIT"]
SVG = "{http://www.w3.org/2000/svg}"


def line(route, cache, status=200, size=100, uri="/", upstream="", byte_range=""):
    """One access log entry, shaped as edge/config.py writes it."""
    return {
        "route": route,
        "method": "GET",
        "uri": uri,
        "range": byte_range,
        "status": status,
        "cache": cache,
        "bytes": size,
        "upstream_bytes": "",
        "request_time": 0.0,
        "upstream_time": upstream,
    }


def timing(uri="/", seconds=0.1, first_byte=0.05, byte_range=""):
    return Timing("GET", uri, byte_range, seconds, first_byte)


def by_kind(built: dict) -> dict[str, dict]:
    return {kind["kind"]: kind for kind in built["kinds"]}


# The report's arithmetic, on a hand-made log --------------------------------


HAND_MADE = [
    line("video", "MISS", 206, 1000, "/v.mp4", "0.010", "bytes=0-"),
    line("video", "HIT", 206, 1000, "/v.mp4", byte_range="bytes=0-"),
    line("video", "HIT", 206, 1000, "/v.mp4", byte_range="bytes=0-"),
    line("video", "HIT", 206, 1000, "/v.mp4", byte_range="bytes=0-"),
    line("thumbnail", "HIT", size=300, uri="/t.jpg"),
    line("thumbnail", "STALE", size=300, uri="/t.jpg"),
    line("thumbnail", "UPDATING", size=300, uri="/t.jpg"),
    line("thumbnail", "MISS", size=100, uri="/t.jpg", upstream="0.020"),
    line("comments", "", 200, 50, "/api/comments/?video=a", "0.030"),
    line("comments", "", 304, 10, "/api/comments/?video=a", "0.010"),
    line("personal-api", "", 200, 40, "/api/me/", "0.050"),
]


def test_it_counts_hits_bytes_and_stale_serves_exactly():
    built = report.build(HAND_MADE, [])
    kinds = by_kind(built)

    assert [kind["kind"] for kind in built["kinds"]] == [
        "video",
        "thumbnail",
        "comments",
        "personal",
    ]
    assert kinds["video"]["hit_ratio"] == 3 / 4
    assert kinds["video"]["byte_hit_ratio"] == 3000 / 4000
    assert kinds["video"]["origin_requests_saved"] == 3
    assert kinds["thumbnail"]["hits"] == 3
    assert kinds["thumbnail"]["stale"] == 2
    assert kinds["thumbnail"]["byte_hit_ratio"] == 900 / 1000
    # STALE started a background refresh and the MISS went to the origin;
    # UPDATING waited for neither.
    assert kinds["thumbnail"]["origin_requests"] == 2
    assert kinds["comments"]["hit_ratio"] is None
    assert kinds["comments"]["not_modified"] == 1
    assert kinds["comments"]["origin_requests_saved"] == 0
    assert built["overall"]["cacheable"] == 8
    assert built["overall"]["hits"] == 6
    assert built["overall"]["hit_ratio"] == 6 / 8
    assert built["overall"]["byte_hit_ratio"] == 3900 / 5000


def test_it_marks_each_figure_against_the_seeds_targets():
    built = report.build(HAND_MADE, [])
    kinds = by_kind(built)

    assert kinds["video"]["hit_ratio_check"] == report.MISSED
    assert kinds["video"]["hit_ratio_target"] == report.HIT_RATIO_TARGET
    assert kinds["comments"]["hit_ratio_check"] is None
    assert built["overall"]["hit_ratio_check"] == report.MISSED


def test_it_takes_latency_from_the_client_and_first_bytes_for_videos():
    timings = [
        timing("/v.mp4", seconds=9.0, first_byte=0.1 * n, byte_range="bytes=0-")
        for n in range(1, 5)
    ] + [timing("/api/me/", seconds=0.4)]
    built = report.build(HAND_MADE, timings)
    kinds = by_kind(built)

    assert kinds["video"]["median_seconds"] == pytest.approx(0.25)
    assert kinds["video"]["p95_seconds"] == pytest.approx(0.4)
    assert kinds["video"]["latency_check"] == report.MET
    assert kinds["personal"]["p95_seconds"] == pytest.approx(0.4)
    assert kinds["personal"]["latency_check"] == report.MISSED
    assert kinds["thumbnail"]["median_seconds"] is None
    assert built["overall"]["unmatched_timings"] == 0


def test_a_timing_without_a_log_line_is_counted():
    built = report.build(HAND_MADE, [timing("/never-logged")])

    assert built["overall"]["unmatched_timings"] == 1


def test_the_nearest_rank_percentile():
    values = [float(n) for n in range(1, 21)]

    assert report.percentile(values, 0.95) == 19.0
    assert report.percentile([3.0], 0.95) == 3.0
    assert report.percentile([], 0.95) is None


def test_the_chart_has_two_bars_per_stored_kind_and_the_target_line():
    root = ET.fromstring(report.svg(report.build(HAND_MADE, [])))  # noqa: S314

    hits = [rect.get("data-kind") for rect in root.iter(f"{SVG}rect")]
    assert [kind for kind in hits if kind] == [
        "video",
        "video",
        "thumbnail",
        "thumbnail",
    ]
    assert len(root.findall(f"{SVG}line[@class='target']")) == 1


# Against a real nginx and a real origin --------------------------------------


@pytest.fixture(autouse=True)
def served_host(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]


@pytest.fixture(scope="module")
def nginx():
    if runner.nginx_binary() is None:
        missing(runner.MISSING)


def port_is_free(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as probe:
        # Connections closed a moment ago wait in TIME_WAIT; only a listener
        # keeps a server that reuses addresses, as nginx and Django do, away.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


@pytest.fixture
def videos(media_root, mp4_bytes, other_mp4_bytes) -> list[Video]:
    made = [
        Video.objects.create(
            title=slug.title(),
            slug=slug,
            file=ContentFile(content, name="clip.mp4"),
            thumbnail=ContentFile(image_bytes(colour=colour), name="t.png"),
            is_published=True,
        )
        for slug, content, colour in (
            ("first", mp4_bytes, "orange"),
            ("second", other_mp4_bytes, "teal"),
        )
    ]
    ranking.refresh()
    return made


@pytest.fixture
def signed_in_viewers(monkeypatch):
    """Two viewers; every view signed in and reading the announcements."""
    for name in ("alice", "bob"):
        get_user_model().objects.create_user(name)
    monkeypatch.setattr(workload, "SIGNED_IN_SHARE", 1.0)
    monkeypatch.setattr(workload, "ANNOUNCEMENTS_SHARE", 1.0)


@pytest.mark.django_db(transaction=True)
def test_the_lab_starts_and_stops_the_origin_and_the_edge(nginx, media_root):
    with Lab(lab_ttl=1) as lab:
        origin = lab.origin_url.removeprefix("http://")
        edge = lab.edge_url.removeprefix("http://")
        first = fetch(lab.edge_url + "/")
        second = fetch(lab.edge_url + "/")

        assert first.status == HTTPStatus.OK
        assert first.headers["Cache-Control"] == PAGE.cache_control
        assert second.headers["X-Cache"] == HIT
        logged = lab.log_lines(at_least=2)
        assert [entry["cache"] for entry in logged] == ["MISS", "HIT"]
        assert not port_is_free(origin)
        assert not port_is_free(edge)

    assert port_is_free(origin)
    assert port_is_free(edge)


@pytest.mark.django_db(transaction=True)
def test_the_origin_stops_and_starts_again_on_its_port(nginx, media_root):
    with Lab() as lab:
        lab.stop_origin()
        with pytest.raises(ConnectionRefusedError):
            fetch(lab.origin_url + "/")
        lab.start_origin()

        assert fetch(lab.origin_url + "/").status == HTTPStatus.OK


def test_it_fetches_nothing_but_the_loopback():
    with pytest.raises(ValueError, match=HOST):
        fetch("http://example.com/")


@pytest.mark.django_db(transaction=True)
def test_a_tiny_workload_reports_what_the_access_log_says(
    nginx, videos, signed_in_viewers
):
    with Lab(lab_ttl=5) as lab:
        outcome, first = workload.replay(lab, 6, seed=1, seconds=30, stream=StringIO())
        lines = lab.log_lines(at_least=first + len(outcome.timings))[first:]
    built = report.build(lines, outcome.timings)
    kinds = by_kind(built)

    assert outcome.done == 6
    assert outcome.errors == []
    assert len(lines) == len(outcome.timings)
    assert built["overall"]["unmatched_timings"] == 0
    for kind in kinds.values():
        logged = [entry for entry in lines if report.kind_of(entry) == kind["kind"]]
        hits = [entry for entry in logged if entry["cache"] in config.X_CACHE]
        assert kind["requests"] == len(logged)
        assert kind["hits"] == len(hits)
        assert kind["timed"] == len(logged)
    # Per view: two ranges, one list and POLLS polls, one personal call.
    assert kinds["video"]["requests"] == 12
    assert kinds["comments"]["requests"] == 6 * (1 + workload.POLLS)
    assert kinds["personal"]["requests"] == 6
    assert kinds["personal"]["hits"] == 0
    assert kinds["announcements"]["hits"] == 0
    # Two videos: their first ranges are the only video misses.
    assert kinds["video"]["hits"] == 10


@pytest.mark.django_db(transaction=True)
def test_a_run_leaves_no_comment_session_or_new_thumbnail_behind(
    nginx, videos, signed_in_viewers
):
    from django.contrib.sessions.models import Session

    before = [video.thumbnail.read() for video in videos]
    with Lab(lab_ttl=5) as lab:
        outcome, _ = workload.replay(lab, 10, seed=2, seconds=30, stream=StringIO())

    assert any("posted comment" in change for change in outcome.changes)
    assert any("replaced the thumbnail" in change for change in outcome.changes)
    assert not Session.objects.exists()
    assert not Comment.objects.exists()
    assert [video.comments_count for video in Video.objects.all()] == [0, 0]
    after = [Video.objects.get(pk=video.pk).thumbnail.read() for video in videos]
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_the_command_writes_a_json_report_and_a_chart(nginx, videos, tmp_path):
    out = StringIO()
    call_command(
        "cachelab",
        viewers=6,
        seed=3,
        json=tmp_path / "report.json",
        svg=tmp_path / "chart.svg",
        stdout=out,
    )

    written = json.loads((tmp_path / "report.json").read_text())
    assert set(written) == {"about", "kinds", "overall"}
    assert written["about"]["views"] == 6
    assert {kind["kind"] for kind in written["kinds"]} >= {
        "video",
        "thumbnail",
        "page",
        "comments",
        "recommendations",
    }
    assert set(written["kinds"][0]) >= {
        "requests",
        "hit_ratio",
        "byte_hit_ratio",
        "not_modified",
        "stale",
        "origin_requests_saved",
        "median_seconds",
        "p95_seconds",
    }
    chart = ET.parse(tmp_path / "chart.svg").getroot()  # noqa: S314
    stored = [kind["kind"] for kind in written["kinds"] if kind["cacheable"]]
    bars = [
        rect.get("data-kind") for rect in chart.findall(f".//{SVG}rect[@class='hit']")
    ]
    assert bars == stored
    assert "Cacheable requests:" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_command_asks_for_demo_content_first(media_root):
    with pytest.raises(CommandError) as raised:
        call_command("cachelab", viewers=1, stdout=StringIO())

    assert str(raised.value) == NO_CONTENT


@pytest.mark.django_db
def test_an_unknown_scenario_lists_the_names():
    scenarios = pytest.importorskip("lab.scenarios")

    with pytest.raises(CommandError) as raised:
        call_command("cachelab", scenario="nonsense", stdout=StringIO())

    assert all(name in str(raised.value) for name in scenarios.NAMES)
