"""A signed-in person's own data: favorites, watch history and their counts.

Only published videos count: a video taken down disappears from everyone's
lists without touching their rows, and comes back if it is published again.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

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


def _count(queryset: QuerySet, owner: str) -> Coalesce:
    # Grouped by the owner, the subquery has one row, or none for no match.
    counted = queryset.order_by().values(owner).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def counts(user) -> dict[str, int]:
    """How many favorites, history entries and shown comments, in one query."""
    mine = {
        "favorites": _count(_on_published(Favorite.objects.filter(user=user)), "user"),
        "history": _count(
            _on_published(WatchHistory.objects.filter(user=user)), "user"
        ),
        "comments": _count(
            _on_published(Comment.objects.visible().filter(author=user)), "author"
        ),
    }
    # The user's row carries them; its relations already use these names.
    row = (
        get_user_model()
        ._default_manager.filter(pk=user.pk)
        .values(**{f"{name}_count": count for name, count in mine.items()})
        .get()
    )
    return {name: row[f"{name}_count"] for name in mine}


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
