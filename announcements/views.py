"""Announcements, shown only inside their publish window.

They are never stored by any cache (the ANNOUNCEMENT policy), so one that is
withdrawn or expires disappears on the next request.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from announcements.models import Announcement
from caching.decorators import cache_policy
from caching.policies import ANNOUNCEMENT


@cache_policy(ANNOUNCEMENT)
@require_safe
def index(request):
    announcements = Announcement.objects.live().order_by("-starts_at", "-pk")
    return render(request, "announcements/index.html", {"announcements": announcements})


@cache_policy(ANNOUNCEMENT)
@require_safe
def detail(request, slug: str):
    announcement = get_object_or_404(Announcement.objects.live(), slug=slug)
    return render(request, "announcements/detail.html", {"announcement": announcement})
