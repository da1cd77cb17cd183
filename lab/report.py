"""The cache lab's report: the edge's access log, joined with client timings.

Counts come from the log alone (one line per request, edge/config.py), so
they can be checked against it; latencies come from the client, which alone
knows how long a viewer waited. For videos the latency is the time to the
first byte, as a player starts once the first bytes arrive.

- A request is *cacheable* when its route's policy may be kept by a shared
  cache (``Route.cached``, from the policy table).
- A *hit* is a request the edge answered from its store: ``X-Cache`` says
  ``Hit from edge`` or ``RefreshHit from edge`` (the latter is a *stale
  serve*: a copy past its lifetime, served while being refreshed or after
  the origin confirmed it with a 304).
- An *origin request* is a request that reached the origin, plus one
  background refresh for each stale serve that started one (nginx logs the
  request it served, not the refresh it made behind it).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from edge.config import ROUTES, X_CACHE

# The seed's targets (issue 4).
HIT_RATIO_TARGET = 0.80
API_TARGET = 0.3
THUMBNAIL_TARGET = 0.5
VIDEO_FIRST_BYTE_TARGET = 1.0
# The closing note's goal for the default workload.
GOAL_HIT_RATIO = 0.95
GOAL_BYTE_HIT_RATIO = 0.99

KINDS = (
    "video",
    "thumbnail",
    "page",
    "comments",
    "recommendations",
    "personal",
    "announcements",
)
# The edge's route names (edge.config.ROUTES) for each kind.
ROUTE_KINDS = {
    "video": "video",
    "thumbnail": "thumbnail",
    "page": "page",
    "comments": "comments",
    "recommendations": "recommendations",
    "personal-api": "personal",
    "personal": "personal",
    "announcement": "announcements",
}
# Seconds a request may take at the 95th percentile, and what is measured.
LATENCY_TARGETS = {
    "video": VIDEO_FIRST_BYTE_TARGET,
    "thumbnail": THUMBNAIL_TARGET,
    "comments": API_TARGET,
    "recommendations": API_TARGET,
    "personal": API_TARGET,
}
FIRST_BYTE_KINDS = {"video"}

CACHED_ROUTES = {route.name for route in ROUTES if route.cached}
HIT_STATUSES = set(X_CACHE)
STALE_STATUSES = {
    status for status, value in X_CACHE.items() if value != X_CACHE["HIT"]
}
# Set by nginx when it served a stale copy and started a background update
# (``proxy_cache_background_update``); UPDATING means one was already running.
BACKGROUND_REFRESH = "STALE"

MET = "pass"
MISSED = "miss"


@dataclass(frozen=True)
class Timing:
    """What the client saw of one request, to be matched with its log line."""

    method: str
    uri: str
    range: str
    seconds: float
    first_byte_seconds: float


def kind_of(line: dict) -> str:
    return ROUTE_KINDS.get(line["route"], line["route"])


def is_hit(line: dict) -> bool:
    # A 5xx is "Error from edge" whatever the cache did (edge/config.py).
    return line["cache"] in HIT_STATUSES and line["status"] < 500


def is_stale(line: dict) -> bool:
    return is_hit(line) and line["cache"] in STALE_STATUSES


def reached_origin(line: dict) -> int:
    """Origin requests this line stands for: 0, 1, or 1 for a refresh."""
    if line["upstream_time"] not in ("", "-"):
        return 1
    return 1 if line["cache"] == BACKGROUND_REFRESH else 0


def join(lines: Iterable[dict], timings: Iterable[Timing]) -> tuple[list, int]:
    """Pair each log line with the client's timing of the same request.

    Requests are matched on method, URI and Range; identical requests are
    interchangeable for every figure here. Returns ``[(line, timing or
    None)]`` and the number of timings no line matched.
    """
    waiting = defaultdict(list)
    for timing in timings:
        waiting[(timing.method, timing.uri, timing.range)].append(timing)
    pairs = []
    for line in lines:
        found = waiting.get((line["method"], line["uri"], line["range"]))
        pairs.append((line, found.pop(0) if found else None))
    unmatched = sum(len(left) for left in waiting.values())
    return pairs, unmatched


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with ``share`` at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarise(kind: str, pairs: list[tuple[dict, Timing | None]]) -> dict:
    lines = [line for line, _ in pairs]
    cacheable = [line for line in lines if line["route"] in CACHED_ROUTES]
    hits = [line for line in lines if is_hit(line)]
    cacheable_bytes = sum(line["bytes"] for line in cacheable)
    hit_bytes = sum(line["bytes"] for line in cacheable if is_hit(line))
    origin = sum(reached_origin(line) for line in lines)

    first_byte = kind in FIRST_BYTE_KINDS
    waits = [
        timing.first_byte_seconds if first_byte else timing.seconds
        for _, timing in pairs
        if timing is not None
    ]
    median = statistics.median(waits) if waits else None
    p95 = percentile(waits, 0.95)

    hit_ratio = ratio(len(hits), len(cacheable))
    target = LATENCY_TARGETS.get(kind)
    return {
        "kind": kind,
        "requests": len(lines),
        "cacheable": len(cacheable),
        "hits": len(hits),
        "hit_ratio": hit_ratio,
        "bytes": sum(line["bytes"] for line in lines),
        "cacheable_bytes": cacheable_bytes,
        "hit_bytes": hit_bytes,
        "byte_hit_ratio": ratio(hit_bytes, cacheable_bytes),
        "not_modified": sum(1 for line in lines if line["status"] == 304),
        "stale": sum(1 for line in lines if is_stale(line)),
        "origin_requests": origin,
        "origin_requests_saved": len(lines) - origin,
        "cache_statuses": dict(Counter(line["cache"] or "-" for line in lines)),
        "latency": "first byte" if first_byte else "total",
        "timed": len(waits),
        "median_seconds": median,
        "p95_seconds": p95,
        "hit_ratio_target": HIT_RATIO_TARGET if cacheable else None,
        "hit_ratio_check": _check(hit_ratio, HIT_RATIO_TARGET, above=True),
        "latency_target_seconds": target,
        "latency_check": _check(p95, target, above=False),
    }


def _check(value: float | None, target: float | None, *, above: bool) -> str | None:
    if value is None or target is None:
        return None
    met = value > target if above else value < target
    return MET if met else MISSED


def build(lines: list[dict], timings: list[Timing], **about) -> dict:
    """The whole report; ``about`` (the run's parameters) is kept as is."""
    pairs, unmatched = join(lines, timings)
    by_kind = defaultdict(list)
    for pair in pairs:
        by_kind[kind_of(pair[0])].append(pair)
    order = [kind for kind in KINDS if kind in by_kind]
    order += sorted(kind for kind in by_kind if kind not in KINDS)
    kinds = [summarise(kind, by_kind[kind]) for kind in order]

    stored = [line for line, _ in pairs if line["route"] in CACHED_ROUTES]
    cacheable = len(stored)
    hits = sum(1 for line in stored if is_hit(line))
    cacheable_bytes = sum(kind["cacheable_bytes"] for kind in kinds)
    hit_bytes = sum(kind["hit_bytes"] for kind in kinds)
    hit_ratio = ratio(hits, cacheable)
    byte_hit_ratio = ratio(hit_bytes, cacheable_bytes)
    overall = {
        "requests": len(pairs),
        "cacheable": cacheable,
        "hits": hits,
        "hit_ratio": hit_ratio,
        "cacheable_bytes": cacheable_bytes,
        "hit_bytes": hit_bytes,
        "byte_hit_ratio": byte_hit_ratio,
        "goal_hit_ratio": GOAL_HIT_RATIO,
        "goal_byte_hit_ratio": GOAL_BYTE_HIT_RATIO,
        "hit_ratio_check": _check(hit_ratio, GOAL_HIT_RATIO, above=True),
        "byte_hit_ratio_check": _check(byte_hit_ratio, GOAL_BYTE_HIT_RATIO, above=True),
        "unmatched_timings": unmatched,
    }
    return {"about": about, "kinds": kinds, "overall": overall}


# Text ---------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _millis(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


def _mark(check: str | None) -> str:
    return check or ""


def text(report: dict) -> str:
    """The report as a table, for the terminal."""
    header = (
        f"{'kind':<16}{'requests':>9}  {'hit ratio':<15}{'byte hit':>9}"
        f"{'304s':>7}{'stale':>7}{'saved':>8}{'median':>9}{'p95':>9}  latency target"
    )
    rows = [header, "-" * len(header)]
    for kind in report["kinds"]:
        hit = f"{_percent(kind['hit_ratio'])} {_mark(kind['hit_ratio_check'])}"
        if kind["cacheable"] == 0:
            hit = "not stored"
        target = kind["latency_target_seconds"]
        latency = ""
        if target is not None:
            measure = "first byte" if kind["latency"] == "first byte" else "p95"
            latency = f"{measure} < {target * 1000:.0f} ms {kind['latency_check']}"
        rows.append(
            f"{kind['kind']:<16}{kind['requests']:>9}  {hit:<15}"
            f"{_percent(kind['byte_hit_ratio']):>9}{kind['not_modified']:>7}"
            f"{kind['stale']:>7}{kind['origin_requests_saved']:>8}"
            f"{_millis(kind['median_seconds']):>9}{_millis(kind['p95_seconds']):>9}"
            f"  {latency}".rstrip()
        )

    overall = report["overall"]
    rows += [
        "",
        f"Cacheable requests: {overall['cacheable']}, edge hits {overall['hits']}: "
        f"{_percent(overall['hit_ratio'])} (goal ≥ "
        f"{overall['goal_hit_ratio'] * 100:.0f} %: {overall['hit_ratio_check']}).",
        f"Cacheable bytes: {overall['cacheable_bytes']}, from the edge "
        f"{overall['hit_bytes']}: {_percent(overall['byte_hit_ratio'])} (goal ≥ "
        f"{overall['goal_byte_hit_ratio'] * 100:.0f} %: "
        f"{overall['byte_hit_ratio_check']}).",
        f"Seed targets: hit ratio > {HIT_RATIO_TARGET * 100:.0f} % per stored kind;"
        f" p95 below {API_TARGET * 1000:.0f} ms for the APIs,"
        f" {THUMBNAIL_TARGET * 1000:.0f} ms for thumbnails,"
        f" {VIDEO_FIRST_BYTE_TARGET * 1000:.0f} ms to a video's first byte.",
    ]
    if overall["unmatched_timings"]:
        rows.append(
            f"{overall['unmatched_timings']} client requests had no line in the"
            " edge's access log."
        )
    return "\n".join(rows) + "\n"


# Files --------------------------------------------------------------------


def write_json(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


CHART_WIDTH = 640
CHART_HEIGHT = 300
PLOT_TOP = 40
PLOT_BOTTOM = 240
PLOT_LEFT = 56
SERIES = (
    ("hit", "hit_ratio", "hit ratio", "#2f6fb5"),
    ("byte-hit", "byte_hit_ratio", "byte hit ratio", "#8fb8e3"),
)


def svg(report: dict) -> str:
    """A bar chart of hit ratio and byte hit ratio per stored kind.

    Hand-written SVG 1.1, readable on GitHub: the kinds the edge never
    stores are named under the chart instead of drawn as empty bars.
    """
    stored = [kind for kind in report["kinds"] if kind["cacheable"]]
    not_stored = [kind["kind"] for kind in report["kinds"] if not kind["cacheable"]]
    height = PLOT_BOTTOM - PLOT_TOP
    slot = (CHART_WIDTH - PLOT_LEFT - 16) / max(1, len(stored))
    bar = min(40.0, slot / 3)

    def y(share: float) -> float:
        return PLOT_BOTTOM - share * height

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" '
        f'height="{CHART_HEIGHT}" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        "<title>Edge hit ratio per content kind (cachelab)</title>",
        f'<rect width="{CHART_WIDTH}" height="{CHART_HEIGHT}" fill="#ffffff"/>',
        f'<text x="{PLOT_LEFT}" y="20" font-size="14" font-weight="bold">'
        "Edge hit ratio per content kind</text>",
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{PLOT_LEFT}" y1="{y(tick):.1f}" x2="{CHART_WIDTH - 16}" '
            f'y2="{y(tick):.1f}" stroke="#e3e3e3"/>'
        )
        parts.append(
            f'<text x="{PLOT_LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick * 100:.0f} %</text>'
        )
    for index, kind in enumerate(stored):
        left = PLOT_LEFT + index * slot + (slot - 2 * bar) / 2
        for offset, (name, key, label, colour) in enumerate(SERIES):
            share = kind[key] or 0.0
            x = left + offset * bar
            parts.append(
                f'<rect class="{name}" data-kind="{escape(kind["kind"])}" '
                f'x="{x:.1f}" y="{y(share):.1f}" width="{bar - 2:.1f}" '
                f'height="{share * height:.1f}" fill="{colour}">'
                f"<title>{escape(kind['kind'])}: {label} {_percent(kind[key])}"
                "</title></rect>"
            )
            parts.append(
                f'<text x="{x + (bar - 2) / 2:.1f}" y="{y(share) - 4:.1f}" '
                f'text-anchor="middle" font-size="10">{share * 100:.1f}</text>'
            )
        parts.append(
            f'<text x="{left + bar:.1f}" y="{PLOT_BOTTOM + 16}" '
            f'text-anchor="middle">{escape(kind["kind"])}</text>'
        )
    target = y(HIT_RATIO_TARGET)
    parts += [
        f'<line class="target" x1="{PLOT_LEFT}" y1="{target:.1f}" '
        f'x2="{CHART_WIDTH - 16}" y2="{target:.1f}" stroke="#c0392b" '
        'stroke-dasharray="6 4"/>',
        f'<text x="{CHART_WIDTH - 16}" y="{target - 4:.1f}" text-anchor="end" '
        f'fill="#c0392b">target {HIT_RATIO_TARGET * 100:.0f} %</text>',
    ]
    legend_y = PLOT_BOTTOM + 36
    for offset, (_, _, label, colour) in enumerate(SERIES):
        x = PLOT_LEFT + offset * 130
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" '
            f'fill="{colour}"/>'
        )
        parts.append(f'<text x="{x + 18}" y="{legend_y}">{label}</text>')
    if not_stored:
        parts.append(
            f'<text x="{PLOT_LEFT}" y="{legend_y + 20}" fill="#555555">'
            f"Never stored at the edge: {escape(', '.join(not_stored))}.</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_svg(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg(report))
