"""How long the origin spent on a response, told in a Server-Timing header.

The header (W3C Server Timing) reaches the browser's Resource Timing API and
the lab page, which shows it beside who answered: a copy kept by the browser
or the edge repeats the timing measured when the origin made it.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

from django.db import connections


class QueryTimer:
    """An execute wrapper counting queries and the time spent running them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


class ServerTimingMiddleware:
    """Add ``Server-Timing: total;dur=<ms>, db;dur=<ms>;desc="<n> queries"``.

    It belongs second in MIDDLEWARE, right after CachePolicyMiddleware (which
    must be first), so that "total" covers every other middleware and the
    view. Times are in milliseconds, as the specification asks.

    Two limits, stated where they apply: a streamed body (media files) is
    sent after the header is written, so "total" ends when the response is
    ready, not when its last byte leaves; and queries run while streaming
    are not counted.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timer = QueryTimer()
        started = time.perf_counter()

        # Every database alias, opened yet or not: a connection object is
        # only a wrapper until its first query, so this costs no connection.
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(timer))
            response = self.get_response(request)

        total = time.perf_counter() - started
        response["Server-Timing"] = server_timing(total, timer.seconds, timer.count)
        return response


def server_timing(total: float, database: float, queries: int) -> str:
    """The header's value for times in seconds and a number of queries."""
    noun = "query" if queries == 1 else "queries"
    return (
        f"total;dur={total * 1000:.2f}, "
        f'db;dur={database * 1000:.2f};desc="{queries} {noun}"'
    )
