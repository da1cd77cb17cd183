"""The cache lab: the policy table, and an inspector that watches it work.

The page is the same for every visitor (the PAGE policy), so the edge may
share it: it names the newest published video, which is public, and nothing
about who is looking.
"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from caching.decorators import cache_policy
from caching.policies import (
    ANNOUNCEMENT,
    COMMENTS,
    PAGE,
    PERSONAL,
    POLICIES,
    RECOMMENDATIONS,
    THUMBNAIL,
    VIDEO,
    Policy,
)
from videos.models import Video

# The first kilobyte, as a player's first request would ask for the start.
VIDEO_RANGE = "bytes=0-1023"


@cache_policy(PAGE)
@require_safe
def index(request):
    video = Video.objects.published().only("slug", "file", "thumbnail").first()
    context = {
        "policies": POLICIES,
        "video": video,
        "resources": resources(video),
    }
    return render(request, "lab/index.html", context)


def resources(video: Video | None) -> list[dict[str, str]]:
    """What the inspector loads, one of each kind, with the policy it expects."""
    found = []
    if video is not None:
        found.append(
            _resource("video range", video.file.url, VIDEO, byte_range=VIDEO_RANGE)
        )
        if video.thumbnail:
            found.append(_resource("thumbnail", video.thumbnail.url, THUMBNAIL))
    found.append(_resource("home page", reverse("videos:home"), PAGE))
    if video is not None:
        comments = reverse("comments:list") + "?" + urlencode({"video": video.slug})
        found.append(_resource("comments", comments, COMMENTS))
    found += [
        _resource("recommendations", reverse("recommendations:api"), RECOMMENDATIONS),
        _resource("who am I", reverse("accounts:api-me"), PERSONAL),
        _resource("announcements", reverse("announcements:index"), ANNOUNCEMENT),
    ]
    return found


def _resource(
    label: str, url: str, policy: Policy, byte_range: str = ""
) -> dict[str, str]:
    return {"label": label, "url": url, "policy": policy.name, "range": byte_range}
