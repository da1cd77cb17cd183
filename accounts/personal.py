"""A signed-in person's own data: favorites, watch history and their counts.

Only published videos count: a video taken down disappears from everyone's
lists without touching their rows, and comes back if it is published again.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from comments.models import Comment
from recommendations.models import Favorite, WatchHistory
from videos.models import Video


def _on_published(queryset: QuerySet) -> QuerySet:
    return queryset.filter(video__in=Video.objects.published())


def favorites(user) -> QuerySet[Favorite]:
    """The user's favorites, newest first."""
    return (
        _on_published(Favorite.objects.filter(user=user))
        .select_related("video")
        .order_by("-created_at", "-pk")
    )


def history(user) -> QuerySet[WatchHistory]:
    """The user's watch history, last watched first."""
    return (
        _on_published(WatchHistory.objects.filter(user=user))
        .select_related("video")
        .order_by("-watched_at", "-pk")
    )


def counts(user) -> dict[str, int]:
    """How many favorites, history entries and shown comments the user has.

    Three plain counts over indexed joins: one query with three correlated
    subqueries returned the same numbers but took longer to build than the
    three together take to run (bench/api_latency.py).
    """
    published = {
        "video__is_published": True,
        "video__published_at__lte": timezone.now(),
    }
    return {
        "favorites": Favorite.objects.filter(user=user, **published).count(),
        "history": WatchHistory.objects.filter(user=user, **published).count(),
        "comments": Comment.objects.visible().filter(author=user, **published).count(),
    }


def video_state(user, slug: str) -> dict | None:
    """A published video's slug, whether the user likes it and where they
    stopped watching it (a timedelta, or None); None for no such video."""
    mine = {"user": user, "video": OuterRef("pk")}
    return (
        Video.objects.published()
        .filter(slug=slug)
        .annotate(
            favorite=Exists(Favorite.objects.filter(**mine)),
            position=Subquery(WatchHistory.objects.filter(**mine).values("position")),
        )
        .values("slug", "favorite", "position")
        .first()
    )
