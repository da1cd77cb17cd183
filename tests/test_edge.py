"""The edge: a real nginx, configured from the policy table, before the site.

Each test starts the site on a free port in a server thread and a fresh nginx
(with an empty cache) in front of it, and talks to the edge over HTTP.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from http import HTTPStatus
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import resolve

from caching.policies import (
    COMMENTS,
    ERROR,
    MEDIA_POLICIES,
    POLICIES,
    THUMBNAIL,
    media_policy,
)
from edge import config, runner
from edge.config import ROUTES, X_CACHE_ERROR, X_CACHE_MISS
from edge.management.commands.edge import Command as EdgeCommand
from edge.runner import Edge
from recommendations import ranking
from tests.conftest import image_bytes
from tests.servers import HOST, missing, site_thread
from videos.models import Video

pytestmark = pytest.mark.django_db(transaction=True)

HIT = config.X_CACHE["HIT"]
REFRESH_HIT = config.X_CACHE["STALE"]
LAB_TTL = 1
# nginx counts freshness in whole seconds from the second a copy was stored,
# so a copy is surely stale one second past the TTL.
PAST_LAB_TTL = LAB_TTL + 1.1
# A URL under each route's prefix, to ask the URLconf which policy the
# origin answers it with.
EXAMPLES = {
    "/media/videos/": "/media/videos/video-0.mp4",
    "/media/thumbnails/": "/media/thumbnails/0.jpg",
    "/static/": "/static/site.css",
    "/api/comments/": "/api/comments/",
    "/api/recommendations/": "/api/recommendations/",
    "/api/me/": "/api/me/",
    "/me/": "/me/",
    "/accounts/": "/accounts/signin/",
    "/admin/": "/admin/",
    "/announcements/": "/announcements/",
    "/": "/",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def fetch(url: str, headers: dict[str, str] | None = None):
    """(status, headers, body) of a GET, with no cookie jar and no cache."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def locations(text: str) -> dict[str, list[str]]:
    """The generated config's locations: prefix to its directive lines."""
    found = {}
    for prefix, body in re.findall(r"location (\S+) \{\n(.*?)\n\s*\}", text, re.S):
        found[prefix] = [line.strip() for line in body.splitlines()]
    return found


class RecordingOrigin:
    """Django's WSGI app, noting the headers of every request it receives."""

    def __init__(self, app):
        self.app = app
        self.seen: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.seen.append(
                {
                    "path": environ["PATH_INFO"],
                    "cookie": environ.get("HTTP_COOKIE"),
                    "authorization": environ.get("HTTP_AUTHORIZATION"),
                    "range": environ.get("HTTP_RANGE"),
                    "if-none-match": environ.get("HTTP_IF_NONE_MATCH"),
                }
            )
        return self.app(environ, start_response)

    def requests_for(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [seen for seen in self.seen if seen["path"] == path]


@pytest.fixture(scope="session")
def nginx():
    found = runner.nginx_binary()
    if found is None:
        missing(runner.MISSING)
    return found


@pytest.fixture
def age_header(nginx):
    if runner.njs_module(nginx) is None:
        missing(runner.NO_AGE)


@pytest.fixture
def origin(django_db_setup):
    """The whole app on a real port, as tests/test_browser.py serves it."""
    recorders = []

    def record(application):
        recorders.append(RecordingOrigin(application))
        return recorders[0]

    with site_thread(wrap=record) as thread:
        recorder = recorders[0]
        recorder.address = f"{HOST}:{thread.port}"
        recorder.stop = thread.terminate
        yield recorder


@pytest.fixture
def start_edge(nginx, origin, tmp_path):
    started = []

    def start(lab_ttl: int | None = None) -> Edge:
        edge = Edge(tmp_path / "edge", f"{HOST}:{free_port()}", origin.address)
        edge.lab_ttl = lab_ttl
        edge.start()
        started.append(edge)
        return edge

    yield start

    for edge in started:
        edge.stop()


@pytest.fixture
def edge(start_edge) -> Edge:
    return start_edge()


@pytest.fixture
def lab_edge(start_edge) -> Edge:
    return start_edge(lab_ttl=LAB_TTL)


@pytest.fixture(autouse=True)
def served_host(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]


@pytest.fixture
def video(media_root, mp4_bytes) -> Video:
    video = Video.objects.create(
        title="Byte ranges",
        slug="byte-ranges",
        description="How a player asks for part of a file.",
        file=ContentFile(mp4_bytes, name="clip.mp4"),
        thumbnail=ContentFile(image_bytes(colour="orange"), name="first.png"),
        is_published=True,
    )
    ranking.refresh()
    return video


def access_log(edge: Edge, at_least: int, timeout: float = 3.0) -> list[dict]:
    """The access log once it holds at_least lines.

    nginx writes a request's line just after the client has the answer, so a
    read straight after the last request can come too early.
    """
    deadline = time.monotonic() + timeout
    while True:
        lines = edge.access_log.read_text().splitlines()
        if len(lines) >= at_least or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(0.02)


def test_each_route_is_stored_exactly_when_its_policy_is_shared():
    text = config.render(origin="127.0.0.1:9", listen="127.0.0.1:9")
    found = locations(text)

    assert sorted(found) == sorted(route.prefix for route in ROUTES)
    for route in ROUTES:
        lines = found[route.prefix]
        expected = "proxy_cache edge;" if route.policy.shared else "proxy_cache off;"
        assert expected in lines, route.prefix
        assert f"set $edge_route {route.name};" in lines
        for header in ("Cookie", "Authorization"):
            stripped = f'proxy_set_header {header} "";'
            assert (stripped in lines) is route.policy.shared, (route.prefix, header)
        assert ("slice 1m;" in lines) is (route.prefix == "/media/videos/")
        assert ("proxy_cache_lock on;" in lines) is (
            route.policy.shared and route.prefix.startswith("/media/")
        )


def test_nothing_private_or_unvalidated_is_ever_stored():
    for route in ROUTES:
        directives = route.policy.directives
        if {"private", "no-store", "no-cache"} & directives.keys():
            assert not route.cached, route.prefix


def test_the_routes_carry_the_policies_the_origin_sends():
    for folder, policy in MEDIA_POLICIES.items():
        assert [r.policy for r in ROUTES if r.prefix == f"/media/{folder}/"] == [policy]
    for route in ROUTES:
        path = EXAMPLES[route.prefix]
        if route.media:
            sent = media_policy(path.removeprefix("/media/"))
        else:
            sent = resolve(path).func.cache_policy
        assert sent == route.policy, route.prefix
        assert route.policy in POLICIES


def test_the_video_route_keys_its_cache_on_the_slice():
    video = locations(config.render())["/media/videos/"]

    assert "proxy_cache_key $scheme://$host$request_uri$slice_range;" in video
    assert "proxy_set_header Range $slice_range;" in video


def test_the_lab_ttl_shortens_only_content_that_changes_in_place():
    found = locations(config.render(lab_ttl=LAB_TTL))
    shortened = f"proxy_cache_valid 200 203 206 300 301 410 {LAB_TTL}s;"

    for route in ROUTES:
        lines = found[route.prefix]
        changes = route.cached and "immutable" not in route.policy.directives
        assert (shortened in lines) is changes, route.prefix
        assert ("proxy_no_cache $edge_lab_no_store;" in lines) is changes


@pytest.mark.parametrize("lab_ttl", [None, LAB_TTL])
def test_nginx_accepts_the_generated_config(nginx, tmp_path, lab_ttl):
    edge = Edge(tmp_path / "edge", f"{HOST}:{free_port()}", "127.0.0.1:9", lab_ttl)
    edge.write()

    edge.check()


def test_a_repeated_video_range_is_a_hit_from_one_slice(edge, origin, video, mp4_bytes):
    url = edge.url + video.file.url

    first = fetch(url, {"Range": "bytes=0-99"})
    second = fetch(url, {"Range": "bytes=0-99"})
    other = fetch(url, {"Range": "bytes=100-199"})

    assert first[0] == second[0] == other[0] == HTTPStatus.PARTIAL_CONTENT
    assert first[1]["X-Cache"] == X_CACHE_MISS
    assert "Age" not in first[1]
    assert second[1]["X-Cache"] == other[1]["X-Cache"] == HIT
    assert second[2] == mp4_bytes[:100]
    assert other[2] == mp4_bytes[100:200]
    assert second[1]["Content-Range"] == f"bytes 0-99/{len(mp4_bytes)}"
    # The origin was asked once, for the first megabyte slice.
    fetched = origin.requests_for(video.file.url)
    assert [seen["range"] for seen in fetched] == ["bytes=0-1048575"]
    logged = access_log(edge, at_least=3)
    assert [(e["route"], e["status"], e["cache"]) for e in logged] == [
        ("video", 206, "MISS"),
        ("video", 206, "HIT"),
        ("video", 206, "HIT"),
    ]


def test_a_hit_carries_its_age(edge, video, age_header):
    url = edge.url + video.thumbnail.url
    fetch(url)

    status, headers, _ = fetch(url)

    assert status == HTTPStatus.OK
    assert headers["X-Cache"] == HIT
    assert int(headers["Age"]) in (0, 1)


def test_a_thumbnail_past_its_max_age_is_served_stale_then_refreshed(
    lab_edge, origin, video
):
    url = lab_edge.url + video.thumbnail.url
    _, first_headers, old = fetch(url)
    assert first_headers["Cache-Control"] == THUMBNAIL.cache_control

    video.thumbnail = ContentFile(image_bytes(colour="blue"), name="second.png")
    video.save()
    time.sleep(PAST_LAB_TTL)
    began = time.monotonic()
    status, headers, body = fetch(url)
    stale_seconds = time.monotonic() - began

    assert status == HTTPStatus.OK
    assert headers["X-Cache"] == REFRESH_HIT
    assert body == old
    assert stale_seconds < 0.2
    # The background refresh lands shortly after.
    for _ in range(50):
        _, headers, body = fetch(url)
        if body != old:
            break
        time.sleep(0.02)
    assert body == video.thumbnail.open("rb").read()
    assert headers["X-Cache"] == HIT
    assert len(origin.requests_for(video.thumbnail.url)) == 2


def test_comments_revalidation_gets_the_origins_304(edge, origin, video):
    url = f"{edge.url}/api/comments/?video={video.slug}"
    status, headers, _ = fetch(url)
    assert status == HTTPStatus.OK

    status, again, body = fetch(url, {"If-None-Match": headers["ETag"]})

    assert status == HTTPStatus.NOT_MODIFIED
    assert body == b""
    assert again["ETag"] == headers["ETag"]
    assert again["Cache-Control"] == COMMENTS.cache_control
    assert again["X-Cache"] == X_CACHE_MISS
    asked = origin.requests_for("/api/comments/")
    assert [seen["if-none-match"] for seen in asked] == [None, headers["ETag"]]


@pytest.mark.parametrize("path", ["/api/me/", "/announcements/"])
def test_personal_and_announcement_answers_are_never_hits(edge, origin, path):
    answers = [fetch(edge.url + path) for _ in range(3)]

    assert [status for status, _, _ in answers] == [HTTPStatus.OK] * 3
    assert [h["X-Cache"] for _, h, _ in answers] == [X_CACHE_MISS] * 3
    assert all("Age" not in h for _, h, _ in answers)
    assert len(origin.requests_for(path)) == 3


@pytest.mark.parametrize("path", ["/api/recommendations/", "/"])
@pytest.mark.parametrize("cookie_first", [True, False])
def test_a_session_cookie_never_changes_a_public_answer(
    edge, origin, video, client, path, cookie_first
):
    user = get_user_model().objects.create_user("dana")
    client.force_login(user)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME]
    signed_in = {"Cookie": f"{session.key}={session.value}"}
    direct = fetch(f"http://{origin.address}{path}")

    first, second = (signed_in, {}) if cookie_first else ({}, signed_in)
    answers = [fetch(edge.url + path, first), fetch(edge.url + path, second)]

    assert [h["X-Cache"] for _, h, _ in answers] == [X_CACHE_MISS, HIT]
    assert answers[0][2] == answers[1][2] == direct[2]
    assert answers[0][1]["ETag"] == answers[1][1]["ETag"] == direct[1]["ETag"]
    assert [seen["cookie"] for seen in origin.requests_for(path)] == [None, None]


def test_authorization_never_reaches_the_origin_on_a_stored_route(edge, origin, video):
    fetch(edge.url + "/api/recommendations/", {"Authorization": "Bearer secret"})

    (seen,) = origin.requests_for("/api/recommendations/")
    assert seen["authorization"] is None


def test_with_the_origin_stopped_stored_answers_are_still_served(
    lab_edge, origin, video
):
    paths = [video.thumbnail.url, "/api/recommendations/"]
    before = {path: fetch(lab_edge.url + path)[2] for path in paths}
    time.sleep(PAST_LAB_TTL)

    origin.stop()
    served = {path: fetch(lab_edge.url + path) for path in paths}
    status, headers, _ = fetch(lab_edge.url + "/api/me/")

    for path in paths:
        assert served[path][0] == HTTPStatus.OK
        assert served[path][1]["X-Cache"] == REFRESH_HIT
        assert served[path][2] == before[path]
    assert status == HTTPStatus.BAD_GATEWAY
    assert headers["X-Cache"] == X_CACHE_ERROR
    assert headers["Cache-Control"] == ERROR.cache_control


def test_the_command_starts_reports_and_stops_the_edge(nginx, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    port = str(free_port())

    def run(*args) -> str:
        out = StringIO()
        call_command(EdgeCommand(), *args, stdout=out, stderr=StringIO())
        return out.getvalue()

    printed = run("config", "--port", port, "--origin", "127.0.0.1:9")
    started = run("start", "--port", port, "--origin", "127.0.0.1:9")
    running = run("status")
    stopped = run("stop")

    assert f"listen 127.0.0.1:{port};" in printed
    assert "proxy_pass http://127.0.0.1:9;" in printed
    assert (
        started == f"Edge: http://127.0.0.1:{port}/ in front of http://127.0.0.1:9/\n"
    )
    assert running.startswith("The edge is running (pid ")
    assert stopped == "Edge stopped.\n"
    assert run("status") == "The edge is not running.\n"


def test_the_command_says_how_to_install_a_missing_nginx(
    monkeypatch, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(runner, "nginx_binary", lambda: None)

    with pytest.raises(CommandError) as raised:
        call_command(EdgeCommand(), "start", stdout=StringIO())

    assert str(raised.value) == runner.MISSING
