"""Real servers and programs for the tests that need them.

The site runs in a thread on a real port with the app's own views answering
/media/ and /static/ (pytest-django's live_server would answer those itself,
without byte ranges or the policy table). nginx and Chromium come from
Debian; a test that needs one skips without it on a person's machine but
fails under CI, where a skip would hide that nothing ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

HOST = "127.0.0.1"
CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (containers lack the namespaces), no GPU, and nothing that
# reaches out to the network on its own (FIELD-NOTES.md, Browser).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: install Debian's chromium package.")


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium driven by Playwright, for a module's tests."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    # Playwright's sync API leaves its asyncio loop registered on this
    # thread, which Django's ORM guard takes for async code. The tests' own
    # queries (and the database flush between them) are plain blocking calls,
    # so the guard is lifted while the browser runs, and only then.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@contextmanager
def site_thread(wrap: Callable | None = None, thread_class=None) -> Iterator:
    """The whole app on a free port; yields the running server thread.

    ``wrap`` may wrap the WSGI application (to record what reaches it).
    """
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections
    from django.test.testcases import LiveServerThread

    application = WSGIHandler()
    if wrap is not None:
        application = wrap(application)
    # An in-memory SQLite database exists only in its connection, which the
    # server's thread must share (as live_server does).
    shared = {
        connection.alias: connection
        for connection in connections.all()
        if connection.vendor == "sqlite" and connection.is_in_memory_db()
    }
    thread = (thread_class or LiveServerThread)(
        HOST, static_handler=lambda _: application, connections_override=shared
    )
    thread.daemon = True
    for connection in shared.values():
        connection.inc_thread_sharing()
    try:
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
        yield thread
    finally:
        thread.terminate()
        for connection in shared.values():
            connection.dec_thread_sharing()


@pytest.fixture(scope="module")
def browser(django_db_setup):
    """One Chromium for a module's tests; the database outlives it."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def site_url(django_db_setup):
    """The address of the whole app on a real port, as in production.

    pytest-django's live_server wraps the app in Django's test handlers,
    which answer /media/ and /static/ themselves: without byte ranges, the
    policy table or the hashed static names. Here the app's own views
    answer everything.
    """
    with site_thread() as thread:
        yield f"http://{HOST}:{thread.port}"


@pytest.fixture
def served_host(settings):
    """The live site answers to the loopback address the browser uses."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]


@pytest.fixture
def fast_passwords(settings):
    # The real hasher takes most of a second per user, by design.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
