from __future__ import annotations

import re
from pathlib import Path

import pytest

from caching import policies
from caching.policies import (
    ANNOUNCEMENT,
    COMMENTS,
    PERSONAL,
    POLICIES,
    RECOMMENDATIONS,
    THUMBNAIL,
    VIDEO,
    media_policy,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("policy", "value"),
    [
        (VIDEO, "public, max-age=31536000, immutable"),
        (THUMBNAIL, "public, max-age=600, stale-while-revalidate=60"),
        (ANNOUNCEMENT, "private, no-store"),
        (COMMENTS, "no-cache, must-revalidate"),
        (RECOMMENDATIONS, "public, max-age=3600, stale-while-revalidate=300"),
        (PERSONAL, "private, no-store"),
    ],
)
def test_the_seed_strategies_have_their_exact_values(policy, value):
    assert policy.cache_control == value


def test_every_policy_has_a_unique_name_and_a_reason():
    names = [policy.name for policy in POLICIES]
    assert len(names) == len(set(names))
    assert all(len(policy.why) > 40 for policy in POLICIES)


@pytest.mark.parametrize(
    ("policy", "stored_by", "shared"),
    [
        (VIDEO, ("browser", "edge"), True),
        (COMMENTS, ("browser", "edge"), False),
        (ANNOUNCEMENT, (), False),
        (policies.ERROR, (), False),
        (policies.STATIC_UNHASHED, ("browser", "edge"), False),
    ],
)
def test_it_knows_which_layers_may_store_a_policy(policy, stored_by, shared):
    assert policy.stored_by == stored_by
    assert policy.shared is shared


def test_directives_are_parsed_with_their_values():
    assert THUMBNAIL.directives == {
        "public": None,
        "max-age": "600",
        "stale-while-revalidate": "60",
    }


@pytest.mark.parametrize(
    ("name", "policy"),
    [
        ("videos/video-" + "a" * 64 + ".mp4", VIDEO),
        ("thumbnails/5b1f.jpg", THUMBNAIL),
        ("other/x.txt", None),
        ("videos", None),
    ],
)
def test_media_policy_follows_the_folder(name, policy):
    assert media_policy(name) is policy


def test_the_readme_shows_the_table_as_the_code_declares_it():
    readme = (ROOT / "README.md").read_text()
    assert policies.markdown_table() in readme


def _python_sources():
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "var", "build", "tests"}:
            continue
        yield relative, path.read_text()


def test_no_cache_control_value_is_written_outside_the_table():
    # A header value in a string literal: a directive with a number, or a
    # directive followed by another one.
    directive = re.compile(
        r"[\"'][^\"'\n]*(\b(s-maxage|max-age|stale-while-revalidate)=\d"
        r"|\b(public|private|no-cache|no-store|must-revalidate), [a-z])"
    )
    offenders = [
        str(relative)
        for relative, text in _python_sources()
        if relative != Path("caching/policies.py") and directive.search(text)
    ]
    assert offenders == []
