"""The caching-policy table: every Cache-Control value HitRate sends.

Views, media serving, S3 object metadata, the edge configuration and the
docs all read this module. A value written anywhere else is a bug.

Directive meanings follow RFC 9111 section 5.2.2 (response directives) and
RFC 8246 (immutable) and RFC 5861 (stale-while-revalidate).
"""

from __future__ import annotations

from dataclasses import dataclass

YEAR = 31_536_000


@dataclass(frozen=True)
class Policy:
    name: str
    content: str
    cache_control: str
    why: str

    @property
    def directives(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for part in self.cache_control.split(","):
            key, _, value = part.strip().partition("=")
            found[key.lower()] = value or None
        return found

    @property
    def shared(self) -> bool:
        """May a shared cache (the CDN edge) keep a copy?"""
        directives = self.directives
        return "public" in directives and "no-store" not in directives

    @property
    def stored_by(self) -> tuple[str, ...]:
        """Which layers may keep a copy: browser and edge, browser, or none."""
        directives = self.directives
        if "no-store" in directives:
            return ()
        if "private" in directives:
            return ("browser",)
        return ("browser", "edge")

    def __str__(self) -> str:
        return self.cache_control


# The six strategies of the design.

VIDEO = Policy(
    name="video",
    content="video files, video-{sha256}.mp4 or .webm",
    cache_control=f"public, max-age={YEAR}, immutable",
    why=(
        "The name is the content's hash, so the bytes behind a URL never "
        "change: every layer may keep them a year and never revalidate "
        "(RFC 8246). A new upload gets a new name."
    ),
)
THUMBNAIL = Policy(
    name="thumbnail",
    content="thumbnails, thumbnails/{video id}.jpg, replaced in place",
    cache_control="public, max-age=600, stale-while-revalidate=60",
    why=(
        "The URL stays when staff replace the image, so copies must expire. "
        "Ten minutes keeps most requests off the origin; for a minute past "
        "that a cache answers at once with the old image while it fetches "
        "the new one (RFC 5861)."
    ),
)
ANNOUNCEMENT = Policy(
    name="announcement",
    content="announcement pages",
    cache_control="private, no-store",
    why=(
        "Announcements must be seen the moment they are published or "
        "withdrawn, so no layer keeps a copy."
    ),
)
COMMENTS = Policy(
    name="comments",
    content="comments API",
    cache_control="no-cache, must-revalidate",
    why=(
        "Comments change at any time, yet polling them should be cheap: a "
        "cache may keep a copy but must ask the origin every time, and an "
        "unchanged list costs a 304 with no body (RFC 9111 section 5.2.2.4)."
    ),
)
RECOMMENDATIONS = Policy(
    name="recommendations",
    content="recommendations API",
    cache_control="public, max-age=3600, stale-while-revalidate=300",
    why=(
        "Recommendations are computed ahead of time and are the same for "
        "everyone: an hour-old list is fine, and a stale one may be served "
        "for five more minutes while the edge refreshes it."
    ),
)
PERSONAL = Policy(
    name="personal",
    content="favorites, watch history, profile; the fallback for any mistake",
    cache_control="private, no-store",
    why=(
        "Personal data must never reach a shared cache, nor stay on a "
        "shared computer's disk. It is also the safest answer when a "
        "response arrives without a policy."
    ),
)

# HitRate's own choices for the rest of the site.

PAGE = Policy(
    name="page",
    content="public HTML pages (home, video pages)",
    cache_control="public, max-age=60, stale-while-revalidate=60",
    why=(
        "The same page for every visitor, with anything personal fetched "
        "by JavaScript: the edge absorbs bursts, and a new video shows up "
        "within two minutes."
    ),
)
STATIC = Policy(
    name="static",
    content="static assets with a content hash in the name",
    cache_control=f"public, max-age={YEAR}, immutable",
    why=(
        "collectstatic puts a hash of the content in each name, so like "
        "videos the bytes behind a URL never change."
    ),
)
STATIC_UNHASHED = Policy(
    name="static-unhashed",
    content="static assets under their plain names (debug mode)",
    cache_control="no-cache",
    why=(
        "A plain name's content changes with the code: keep a copy but "
        "revalidate it on every use, which costs a 304."
    ),
)
ACCOUNT = Policy(
    name="account",
    content="sign-in, sign-up and sign-out pages",
    cache_control="private, no-store",
    why=(
        "Their forms carry a CSRF token tied to the visitor's cookie, and "
        "what they show depends on who is signed in."
    ),
)
PREFLIGHT = Policy(
    name="preflight",
    content="CORS preflight answers (OPTIONS) made before any view",
    cache_control="no-store",
    why=(
        "Browsers keep a preflight for as long as Access-Control-Max-Age "
        "says; the answer depends on the asking Origin, so no other cache "
        "should keep it."
    ),
)
ADMIN = Policy(
    name="admin",
    content="the Django admin",
    cache_control="private, no-store",
    why=(
        "Staff pages carry CSRF tokens and unpublished content: nothing may keep them."
    ),
)
REDIRECT = Policy(
    name="redirect",
    content="redirects made outside any view (adding a slash, to HTTPS)",
    cache_control="public, max-age=3600",
    why=(
        "They depend on the URL alone, the same for everyone: an hour saves "
        "a round trip to the origin without making a wrong one permanent."
    ),
)
ERROR = Policy(
    name="error",
    content="error responses (4xx and 5xx)",
    cache_control="no-store",
    why=(
        "An error describes a moment, not a resource: a stored one would "
        "outlive the fix, and a 401 or 403 depends on who asked."
    ),
)

POLICIES: tuple[Policy, ...] = (
    VIDEO,
    THUMBNAIL,
    ANNOUNCEMENT,
    COMMENTS,
    RECOMMENDATIONS,
    PERSONAL,
    PAGE,
    STATIC,
    STATIC_UNHASHED,
    ACCOUNT,
    PREFLIGHT,
    ADMIN,
    REDIRECT,
    ERROR,
)

# Media is named by kind: the folder of a stored name chooses its policy,
# on local disk, in S3 object metadata and at the edge alike.
MEDIA_POLICIES: dict[str, Policy] = {
    "videos": VIDEO,
    "thumbnails": THUMBNAIL,
}


def media_policy(name: str) -> Policy | None:
    """The policy for a stored media name, or None for an unknown kind."""
    folder, slash, _ = name.partition("/")
    return MEDIA_POLICIES.get(folder) if slash else None


def markdown_table() -> str:
    """The table as Markdown, as the README shows it."""
    lines = [
        "| policy | content | Cache-Control | stored by |",
        "|---|---|---|---|",
    ]
    for policy in POLICIES:
        stored = " and ".join(policy.stored_by) or "nobody"
        lines.append(
            f"| {policy.name} | {policy.content} | `{policy.cache_control}` "
            f"| {stored} |"
        )
    return "\n".join(lines) + "\n"
