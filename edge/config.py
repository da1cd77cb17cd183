"""The edge's nginx configuration, generated from the policy table.

Each route names a URL prefix and the policy the origin answers under it.
Whether the edge stores a route's answers follows from that policy alone
(``Policy.shared``), so the table and the configuration cannot disagree: a
test reads the generated text back and compares it with ``ROUTES``.

The behaviour copies CloudFront's where nginx allows it:

- the origin's Cache-Control decides; a response without Cache-Control or
  Expires is kept for CloudFront's default TTL of a day;
- nothing marked ``private``, ``no-store`` or ``no-cache`` is stored;
- a stale copy is served at once while a background request refreshes it
  (``stale-while-revalidate``, RFC 5861), and whenever the origin is down or
  answers 5xx;
- expired copies are revalidated with If-None-Match and If-Modified-Since;
- cookies and Authorization never reach the origin on a stored route, so no
  stored answer can depend on them;
- video ranges are fetched and stored in 1 MB slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caching.policies import (
    ACCOUNT,
    ADMIN,
    ANNOUNCEMENT,
    COMMENTS,
    ERROR,
    MEDIA_POLICIES,
    PAGE,
    PERSONAL,
    RECOMMENDATIONS,
    STATIC,
    Policy,
)

DEFAULT_LISTEN = "127.0.0.1:8080"
DEFAULT_ORIGIN = "127.0.0.1:8000"
MEDIA_PREFIX = "/media/"
# CloudFront's default TTL, for responses that say nothing about caching.
DEFAULT_TTL = 86_400
SLICE_SIZE = "1m"
CACHE_ZONE = "edge"
X_CACHE = {
    "HIT": "Hit from edge",
    "STALE": "RefreshHit from edge",
    "UPDATING": "RefreshHit from edge",
    "REVALIDATED": "RefreshHit from edge",
}
X_CACHE_MISS = "Miss from edge"
X_CACHE_ERROR = "Error from edge"
# The five places nginx writes temporary files, all kept inside the folder so
# that nginx runs without root (FIELD-NOTES.md, Local edge cache).
TEMP_PATHS = {
    "client_body_temp_path": "temp/body",
    "proxy_temp_path": "temp/proxy",
    "fastcgi_temp_path": "temp/fastcgi",
    "uwsgi_temp_path": "temp/uwsgi",
    "scgi_temp_path": "temp/scgi",
}
AGE_SCRIPT = "age.js"


@dataclass(frozen=True)
class Route:
    name: str
    prefix: str
    policy: Policy

    @property
    def cached(self) -> bool:
        """Does the edge store this route's answers?"""
        return self.policy.shared

    @property
    def media(self) -> bool:
        return self.prefix.startswith(MEDIA_PREFIX)

    @property
    def sliced(self) -> bool:
        """Are ranges fetched and stored in slices? Videos only."""
        return self.prefix == f"{MEDIA_PREFIX}videos/"


def _media_routes() -> tuple[Route, ...]:
    names = {"videos": "video", "thumbnails": "thumbnail"}
    return tuple(
        Route(names.get(folder, folder), f"{MEDIA_PREFIX}{folder}/", policy)
        for folder, policy in MEDIA_POLICIES.items()
    )


# nginx picks the longest matching prefix, so the order is only for reading.
ROUTES: tuple[Route, ...] = (
    *_media_routes(),
    Route("static", "/static/", STATIC),
    # Stored nowhere at the edge: with the cache on, nginx answers a
    # conditional request itself and strips If-None-Match on a miss, so the
    # origin's cheap 304s would never reach the browser (FIELD-NOTES.md).
    Route("comments", "/api/comments/", COMMENTS),
    Route("recommendations", "/api/recommendations/", RECOMMENDATIONS),
    Route("personal-api", "/api/me/", PERSONAL),
    Route("personal", "/me/", PERSONAL),
    Route("account", "/accounts/", ACCOUNT),
    Route("admin", "/admin/", ADMIN),
    Route("announcement", "/announcements/", ANNOUNCEMENT),
    Route("page", "/", PAGE),
)


def lab_route(route: Route) -> bool:
    """Does a lab TTL shorten this route? Stored answers that may change."""
    return route.cached and "immutable" not in route.policy.directives


def render(
    *,
    listen: str = DEFAULT_LISTEN,
    origin: str = DEFAULT_ORIGIN,
    lab_ttl: int | None = None,
    njs_module: Path | None = None,
    user: str | None = None,
) -> str:
    """The whole nginx.conf, with paths relative to the folder given by -p.

    ``lab_ttl`` (seconds) is for the cache lab and the tests, which cannot
    wait ten minutes for a thumbnail to expire. The table stays as it is: on
    the routes whose content changes under the same URL, the edge ignores
    the origin's freshness lifetime and keeps copies for ``lab_ttl`` seconds
    instead. ``njs_module`` adds the Age header; ``user`` keeps the workers
    of an nginx started by root running as that user.
    """
    main = []
    if njs_module is not None:
        main.append(f"load_module {njs_module};")
    if user is not None:
        # A master started by root would switch its workers to nobody, who
        # cannot reach the project's folder.
        main.append(f"user {user};")
    main += [
        "worker_processes 1;",
        "pid logs/nginx.pid;",
        "lock_file logs/nginx.lock;",
        "error_log logs/error.log warn;",
        "",
        "events {",
        "    worker_connections 1024;",
        "}",
        "",
        "http {",
        *_indent(_http(lab_ttl, njs_module is not None)),
        "",
        "    server {",
        f"        listen {listen};",
        *_indent(_server_headers(njs_module is not None), 2),
        "",
        *_indent(_locations(origin, lab_ttl), 2),
        "    }",
        "}",
    ]
    header = (
        "# Generated by edge/config.py from caching/policies.py: change those,"
        " not this file.\n"
    )
    return header + "\n".join(main) + "\n"


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return [("    " * depth + line) if line else "" for line in lines]


def _http(lab_ttl: int | None, age: bool) -> list[str]:
    lines = [f"{directive} {path};" for directive, path in TEMP_PATHS.items()]
    lines += [
        "default_type application/octet-stream;",
        "server_tokens off;",
        "",
        # One entry per request: the route, what the cache did, bytes and
        # times, so that hit ratios can be computed from the log alone.
        "log_format edge escape=json '{'",
        '    \'"time":"$time_iso8601",\'',
        '    \'"route":"$edge_route",\'',
        '    \'"method":"$request_method",\'',
        '    \'"uri":"$request_uri",\'',
        '    \'"range":"$http_range",\'',
        "    '\"status\":$status,'",
        '    \'"cache":"$upstream_cache_status",\'',
        "    '\"bytes\":$bytes_sent,'",
        '    \'"upstream_bytes":"$upstream_bytes_received",\'',
        "    '\"request_time\":$request_time,'",
        '    \'"upstream_time":"$upstream_response_time"\'',
        "'}';",
        "access_log logs/access.log edge;",
        "",
        # Kept long after expiry: a stale copy is what the edge serves while
        # refreshing it or while the origin is down.
        f"proxy_cache_path cache levels=1:2 keys_zone={CACHE_ZONE}:10m"
        " max_size=1g inactive=30d use_temp_path=off;",
        # One key per site and URL, as CloudFront keys on the distribution's
        # domain and the path with its query.
        "proxy_cache_key $scheme://$host$request_uri;",
        # Applies only when the origin sends neither Cache-Control nor
        # Expires: the origin's headers take precedence (nginx docs,
        # proxy_cache_valid).
        f"proxy_cache_valid 200 203 206 300 301 410 {DEFAULT_TTL}s;",
        # Stale-while-revalidate comes from the origin's Cache-Control
        # (nginx 1.11.10 and later), bounded by its window as at CloudFront;
        # serving stale on errors is not bounded, as CloudFront also serves
        # an expired copy when the origin fails.
        f"proxy_cache_use_stale {_STALE_ON_ERROR};",
        "proxy_cache_background_update on;",
        "proxy_cache_revalidate on;",
        "proxy_cache_lock_timeout 10s;",
        "proxy_http_version 1.1;",
        "proxy_connect_timeout 5s;",
        "",
        _x_cache_map(),
        "",
        # Errors the edge makes itself carry the table's ERROR policy; the
        # origin's own errors already carry a policy.
        'map "$status:$upstream_http_cache_control" $edge_error_policy {',
        f'    "~^[45][0-9][0-9]:$" "{ERROR.cache_control}";',
        '    default "";',
        "}",
    ]
    if lab_ttl is not None:
        lines += [
            "",
            # With Cache-Control ignored for its numbers, the lab still
            # refuses to store what the origin marks as not for sharing.
            "map $upstream_http_cache_control $edge_lab_no_store {",
            '    "~*(private|no-store|no-cache)" 1;',
            '    default "";',
            "}",
        ]
    if age:
        lines += ["", "js_path conf;", f"js_import edge from {AGE_SCRIPT};"]
        lines += ["js_set $edge_age edge.age;"]
    return lines


_STALE_ON_ERROR = "error timeout http_500 http_502 http_503 http_504"


def _x_cache_map() -> str:
    lines = ['map "$status:$upstream_cache_status" $edge_x_cache {']
    lines.append(f'    "~^5" "{X_CACHE_ERROR}";')
    for status, value in X_CACHE.items():
        lines.append(f'    "~:{status}$" "{value}";')
    lines.append(f'    default "{X_CACHE_MISS}";')
    lines.append("}")
    return "\n    ".join(lines)


def _server_headers(age: bool) -> list[str]:
    # Declared once at server level: a location with an add_header of its
    # own would inherit none of these (nginx docs, add_header).
    lines = [
        "add_header X-Cache $edge_x_cache always;",
        "add_header Cache-Control $edge_error_policy always;",
    ]
    if age:
        lines.append("add_header Age $edge_age always;")
    return lines


def _locations(origin: str, lab_ttl: int | None) -> list[str]:
    lines: list[str] = []
    for route in ROUTES:
        body = _location_body(route, origin, lab_ttl)
        lines += [f"location {route.prefix} {{", *_indent(body), "}"]
    return lines


def _location_body(route: Route, origin: str, lab_ttl: int | None) -> list[str]:
    lines = [
        f"# {route.policy.name}: {route.policy.cache_control}",
        f"set $edge_route {route.name};",
    ]
    headers = {
        "Host": "$http_host",
        "X-Forwarded-Proto": "$scheme",
        "X-Forwarded-For": "$proxy_add_x_forwarded_for",
    }
    if not route.cached:
        lines.append("proxy_cache off;")
    else:
        lines.append(f"proxy_cache {CACHE_ZONE};")
        # Nothing about the visitor reaches the origin, so a stored answer
        # is the same for everyone. A Set-Cookie would still keep nginx from
        # storing the response: its default, deliberately left alone.
        headers["Cookie"] = '""'
        headers["Authorization"] = '""'
    if route.sliced:
        # A seek needs only the slices it touches; each is a stored entry of
        # its own (nginx docs, ngx_http_slice_module).
        lines += [
            f"slice {SLICE_SIZE};",
            "proxy_cache_key $scheme://$host$request_uri$slice_range;",
        ]
        headers["Range"] = "$slice_range"
    if route.cached and route.media:
        # Waiters poll every 500 ms: worth it for large files only.
        lines.append("proxy_cache_lock on;")
    if lab_ttl is not None and lab_route(route):
        lines += [
            "proxy_ignore_headers Cache-Control Expires;",
            f"proxy_cache_valid 200 203 206 300 301 410 {lab_ttl}s;",
            # The origin's stale-while-revalidate window is ignored with its
            # max-age, so the lab serves stale while updating without bound.
            f"proxy_cache_use_stale updating {_STALE_ON_ERROR};",
            "proxy_no_cache $edge_lab_no_store;",
        ]
    # proxy_set_header is inherited only by a location that sets none, so
    # each location lists them all.
    lines += [f"proxy_set_header {name} {value};" for name, value in headers.items()]
    lines.append(f"proxy_pass http://{origin};")
    return lines
