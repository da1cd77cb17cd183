"""The cache lab page and the Server-Timing header it shows.

The page renders the policy table from the code. In a real browser its
inspector loads one resource of each kind, again, and again skipping the
browser's cache, straight from the origin and through the nginx edge, and
shows who answered each time.
"""

from __future__ import annotations

import re
import socket
from http import HTTPStatus

import pytest
from django.core.files.base import ContentFile
from django.core.servers.basehttp import ThreadedWSGIServer
from django.http import HttpResponse
from django.test.testcases import LiveServerThread
from django.urls import include, path
from django.utils import timezone
from playwright.sync_api import expect
from pytest_django.asserts import assertInHTML

from caching.decorators import cache_policy
from caching.policies import PAGE, PERSONAL, POLICIES, THUMBNAIL, VIDEO
from config import urls as site_urls
from edge import config as edge_config
from edge import runner
from lab.views import VIDEO_RANGE
from tests.conftest import image_bytes
from tests.servers import HOST, missing, site_thread
from tests.test_browser import TIMEOUT_MS
from videos.models import Video

TIMING = "caching.timing.ServerTimingMiddleware"
SERVER_TIMING = re.compile(
    r'total;dur=(?P<total>\d+\.\d\d), db;dur=(?P<db>\d+\.\d\d);desc="(?P<desc>[^"]*)"'
)
NO_EDGE = "no edge"
HIT = edge_config.X_CACHE["HIT"]
MISS = edge_config.X_CACHE_MISS
NONE = "—"


@cache_policy(PERSONAL)
def run_queries(request, count: int):
    for _ in range(count):
        Video.objects.exists()
    return HttpResponse("done")


# The site as configured, with the lab added if the site does not route it
# yet, and a view that makes as many queries as its URL says.
urlpatterns = [
    *site_urls.urlpatterns,
    path("queries/<int:count>/", run_queries),
]
if not any(getattr(entry, "namespace", None) == "lab" for entry in urlpatterns):
    urlpatterns.append(path("", include("lab.urls")))
handler404 = site_urls.handler404
handler500 = site_urls.handler500

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture(autouse=True)
def timed(settings):
    """Server-Timing, second in MIDDLEWARE as the settings place it."""
    if TIMING not in settings.MIDDLEWARE:
        first, *rest = settings.MIDDLEWARE
        settings.MIDDLEWARE = [first, TIMING, *rest]


def published(slug: str, days_ago: int = 0, **fields) -> Video:
    return Video.objects.create(
        title=slug.title(),
        slug=slug,
        file=fields.pop("file", f"videos/video-{slug:a>64}.mp4"),
        is_published=True,
        published_at=timezone.now() - timezone.timedelta(days=days_ago),
        **fields,
    )


# The page ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_lab_shows_every_policy_of_the_table(client):
    response = client.get("/lab/")

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    for policy in POLICIES:
        stored = " and ".join(policy.stored_by) or "nobody"
        row = (
            f'<tr id="policy-{policy.name}"><th scope="row">{policy.name}</th>'
            f"<td>{policy.content}</td><td><code>{policy.cache_control}</code></td>"
            f"<td>{stored}</td><td>{policy.why}</td></tr>"
        )
        assertInHTML(row, content, count=1)
    assert content.count('<tr id="policy-') == len(POLICIES)


@pytest.mark.django_db
def test_the_lab_is_the_same_for_every_visitor(visitor):
    published("first")

    response = visitor.get("/lab/")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == PAGE.cache_control
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers
    assert b"someone" not in response.content
    assert b"csrfmiddlewaretoken" not in response.content


@pytest.mark.django_db
def test_the_inspector_loads_the_newest_published_video(client):
    published("older", days_ago=2, thumbnail="thumbnails/older.jpg")
    newest = published("newest", days_ago=1, thumbnail="thumbnails/newest.jpg")
    Video.objects.create(title="Draft", slug="draft", file="videos/video-d.mp4")

    response = client.get("/lab/")

    resources = {
        resource["label"]: resource for resource in response.context["resources"]
    }
    assert resources["video range"] == {
        "label": "video range",
        "url": newest.file.url,
        "policy": VIDEO.name,
        "range": VIDEO_RANGE,
    }
    assert resources["thumbnail"]["url"] == newest.thumbnail.url
    assert resources["thumbnail"]["policy"] == THUMBNAIL.name
    assert resources["comments"]["url"] == "/api/comments/?video=newest"
    assert [resource["url"] for resource in resources.values()][2:] == [
        "/",
        "/api/comments/?video=newest",
        "/api/recommendations/",
        "/api/me/",
        "/announcements/",
    ]
    assert 'id="lab-resources"' in response.content.decode()


@pytest.mark.django_db
def test_without_a_published_video_the_lab_says_so(client):
    Video.objects.create(title="Draft", slug="draft", file="videos/video-d.mp4")

    response = client.get("/lab/")

    assert b'id="lab-no-video"' in response.content
    labels = [resource["label"] for resource in response.context["resources"]]
    assert labels == ["home page", "recommendations", "who am I", "announcements"]


@pytest.mark.django_db
def test_a_video_without_a_thumbnail_loads_no_thumbnail(client):
    published("bare")

    response = client.get("/lab/")

    assert b'id="lab-no-thumbnail"' in response.content
    labels = [resource["label"] for resource in response.context["resources"]]
    assert "thumbnail" not in labels
    assert "video range" in labels


# Server-Timing -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("count", "desc"), [(0, "0 queries"), (1, "1 query"), (3, "3 queries")]
)
def test_server_timing_counts_the_queries_of_a_request(client, count, desc):
    response = client.get(f"/queries/{count}/")

    assert response.status_code == HTTPStatus.OK
    timing = SERVER_TIMING.fullmatch(response["Server-Timing"])
    assert timing, response["Server-Timing"]
    assert timing["desc"] == desc
    assert 0 <= float(timing["db"]) <= float(timing["total"])
    assert float(timing["total"]) > 0


@pytest.mark.django_db
def test_server_timing_is_on_errors_too(client):
    response = client.get("/videos/missing/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert SERVER_TIMING.fullmatch(response["Server-Timing"])


def test_server_timing_is_absent_without_the_middleware(client, settings):
    settings.MIDDLEWARE = [entry for entry in settings.MIDDLEWARE if entry != TIMING]

    response = client.get("/api/me/")

    assert "Server-Timing" not in response.headers


# In a real browser -----------------------------------------------------------


class JoiningServer(ThreadedWSGIServer):
    # Each request thread closes the shared database connection on its way
    # out, so stopping the server waits for them while sharing is allowed.
    daemon_threads = False


class OriginThread(LiveServerThread):
    server_class = JoiningServer


@pytest.fixture
def origin_url(timed, settings):
    """The app on a real port, started after the settings are in place.

    The server's handler loads MIDDLEWARE once, when the thread starts, so
    this fixture is per test, after ``timed`` and the URLconf. As in
    test_browser.py, the app's own views answer /media/ and /static/.
    """
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    with site_thread(thread_class=OriginThread) as thread:
        yield f"http://{HOST}:{thread.port}"


@pytest.fixture
def page(browser, origin_url):
    # Closed before the server stops, so no request is left half answered.
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def demo_video(media_root, mp4_bytes) -> Video:
    return published(
        "byte-ranges",
        file=ContentFile(mp4_bytes, name="clip.mp4"),
        thumbnail=ContentFile(image_bytes("PNG"), name="thumb.png"),
    )


def shown_rows(page) -> list[dict[str, str]]:
    """The inspector's rows, each as its cells' text by column class."""
    return page.eval_on_selector_all(
        "#lab-requests tbody tr",
        """rows => rows.map(row => Object.fromEntries(
            [...row.cells].map(cell => [cell.className.replace("lab-", ""),
                                        cell.textContent])))""",
    )


def load(page, button: str, rows: int) -> None:
    page.click(button)
    expect(page.locator("#lab-requests tbody tr")).to_have_count(rows)
    expect(page.locator("#lab-load")).to_be_enabled()


@pytest.mark.django_db(transaction=True)
def test_the_second_visit_comes_from_the_browser_cache(page, origin_url, demo_video):
    headers = {}
    page.on(
        "response",
        lambda r: headers.setdefault(r.url, []).append(r.headers.get("server-timing")),
    )
    page.goto(origin_url + "/lab/")
    kinds = len(
        page.evaluate(
            "JSON.parse(document.getElementById('lab-resources').textContent)"
        )
    )

    load(page, "#lab-load", kinds)
    load(page, "#lab-again", 2 * kinds)

    rows = shown_rows(page)
    first = {row["kind"].split(" (")[0]: row for row in rows[:kinds]}
    again = {row["kind"].split(" (")[0]: row for row in rows[kinds:]}
    assert {row["visit"] for row in first.values()} == {"1"}
    assert {row["visit"] for row in again.values()} == {"2"}

    # Nothing was kept before the first visit; the second finds the copies
    # the policies let the browser keep, and never the personal ones.
    assert {row["who"] for row in first.values()} == {"origin"}
    assert again["video range"]["who"] == "browser cache"
    assert again["thumbnail"]["who"] == "browser cache"
    assert again["thumbnail"]["size"] == "0 B"
    assert again["home page"]["who"] == "browser cache"
    assert again["recommendations"]["who"] == "browser cache"
    # no-cache: the browser asks with If-None-Match and shows its own copy.
    assert again["comments"]["who"] == "origin (304)"
    assert again["who am I"]["who"] == "origin"
    assert again["announcements"]["who"] == "origin"

    # No edge in front of this server.
    assert {row["x-cache"] for row in rows} == {NO_EDGE}
    assert {row["age"] for row in rows} == {NONE}
    expect(page.locator("#lab-status")).to_have_text(
        "Visit 2: 7 requests, 4 from the browser cache, 0 edge hits."
        " No edge in front: nothing sent X-Cache."
    )

    # The origin's Server-Timing as it sent it; a kept copy repeats the one
    # measured when the origin made it.
    thumbnail_url = origin_url + demo_video.thumbnail.url
    timing = SERVER_TIMING.fullmatch(headers[thumbnail_url][0])
    assert timing
    assert first["thumbnail"]["total"] == f"{timing['total']} ms"
    assert first["thumbnail"]["db"] == f"{timing['db']} ms, 0 queries"
    assert again["thumbnail"]["total"] == first["thumbnail"]["total"]
    assert first["thumbnail"]["cache-control"] == THUMBNAIL.cache_control
    assert first["video range"]["http-status"] == str(HTTPStatus.PARTIAL_CONTENT)
    for row in rows:
        assert re.fullmatch(r"\d+\.\d\d ms", row["total"]), row
        assert re.fullmatch(r"\d+\.\d\d ms, \d+ quer(y|ies)", row["db"]), row


# Through the edge ----------------------------------------------------------


@pytest.fixture
def edge_url(origin_url, tmp_path):
    """A fresh nginx edge, empty cache, in front of the origin."""
    if runner.nginx_binary() is None:
        missing(runner.MISSING)

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    edge = runner.Edge(
        tmp_path / "edge",
        listen=f"{HOST}:{port}",
        origin=origin_url.removeprefix("http://"),
    )
    edge.start()
    yield edge.url, edge.has_age()
    edge.stop()


@pytest.fixture
def edge_page(browser, edge_url):
    # Closed before the edge and the server stop.
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.mark.django_db(transaction=True)
def test_through_the_edge_a_newcomer_gets_edge_hits(edge_page, edge_url, demo_video):
    url, has_age = edge_url
    page = edge_page
    page.goto(url + "/lab/")
    kinds = len(
        page.evaluate(
            "JSON.parse(document.getElementById('lab-resources').textContent)"
        )
    )

    load(page, "#lab-load", kinds)
    load(page, "#lab-again", 2 * kinds)
    load(page, "#lab-reload", 3 * kinds)

    rows = shown_rows(page)
    first = {row["kind"].split(" (")[0]: row for row in rows[:kinds]}
    again = {row["kind"].split(" (")[0]: row for row in rows[kinds : 2 * kinds]}
    newcomer = {row["kind"].split(" (")[0]: row for row in rows[2 * kinds :]}

    # The first visit filled the edge; the second found the browser's
    # copies; skipping those, the edge answers from its own.
    assert {row["x-cache"] for row in first.values()} == {MISS}
    assert again["thumbnail"]["who"] == "browser cache"
    for kind in ("video range", "thumbnail", "home page", "recommendations"):
        assert newcomer[kind]["who"] == "edge hit", newcomer[kind]
        assert newcomer[kind]["x-cache"] == HIT
        if has_age:
            assert re.fullmatch(r"\d+", newcomer[kind]["age"]), newcomer[kind]
        # The edge kept the origin's header with its copy.
        assert newcomer[kind]["total"] == first[kind]["total"]
    # Never stored at the edge: the comments (so the origin's 304s pass),
    # and what is personal or must be seen at once.
    for kind in ("comments", "who am I", "announcements"):
        assert newcomer[kind]["who"] == "origin", newcomer[kind]
        assert newcomer[kind]["x-cache"] == MISS
        assert newcomer[kind]["age"] == NONE
    assert again["comments"]["who"] == "origin (304)"
