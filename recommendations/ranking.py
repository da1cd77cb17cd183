"""Recommendations computed ahead of time from what viewers watch and favorite.

A favorite weighs 3 and a watch 1. Popularity is a published video's total
weight, ties going to the newest. A video's related list ranks the other
published videos by what the people who watched or favorited it also
watched or favorited, with the same weights; ties go to the more popular,
and popular videos top up the list when too few people overlap.

``refresh()`` stores every list as the exact JSON the API sends, so that
answering a request is one read. It is run by the ``refreshrecommendations``
command and, in production, on a schedule. Lists are as old as the last
refresh: a title changed or a video withdrawn since then shows in them
until the next one.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from recommendations.models import Favorite, RecommendationList, WatchHistory
from videos.models import Video

FAVORITE_WEIGHT = 3
WATCH_WEIGHT = 1
LIST_LENGTH = 10

# Each kind of signal with its weight.
SIGNALS = ((Favorite, FAVORITE_WEIGHT), (WatchHistory, WATCH_WEIGHT))


@dataclass(frozen=True)
class Refreshed:
    """How many lists one refresh wrote."""

    videos: int
    popular: int


def refresh() -> Refreshed:
    """Recompute every list and replace the stored ones in one transaction."""
    videos = {video.slug: video for video in published_videos()}
    popular = popularity_order(videos.values(), popularity_scores(videos))
    rank = {slug: position for position, slug in enumerate(popular)}
    together = co_occurrence(touches_by_user(videos))
    items = {slug: payload_item(video) for slug, video in videos.items()}

    computed_at = timezone.now()
    lists = [
        RecommendationList(
            video=None,
            payload=[items[slug] for slug in popular[:LIST_LENGTH]],
            computed_at=computed_at,
        )
    ]
    for slug, video in videos.items():
        ranked = related_order(slug, together.get(slug, Counter()), popular, rank)
        lists.append(
            RecommendationList(
                video=video,
                payload=[items[other] for other in ranked],
                computed_at=computed_at,
            )
        )

    # Readers see the old lists until the commit, then all the new ones. A
    # video deleted while the lists were computed fails the insert; the next
    # run succeeds.
    with transaction.atomic():
        RecommendationList.objects.all().delete()
        RecommendationList.objects.bulk_create(lists)
    return Refreshed(videos=len(videos), popular=1)


def published_videos() -> list[Video]:
    return list(
        Video.objects.published().only(
            "id", "slug", "title", "thumbnail", "duration", "published_at"
        )
    )


def payload_item(video: Video) -> dict:
    """One entry of a list, as the API sends it."""
    return {
        "slug": video.slug,
        "title": video.title,
        "url": video.get_absolute_url(),
        "thumbnail": video.thumbnail.url if video.thumbnail else None,
        "duration": (
            video.duration.total_seconds() if video.duration is not None else None
        ),
    }


def popularity_scores(videos: dict[str, Video]) -> Counter[str]:
    """Each video's weighted count of favorites and watches, by slug."""
    slug_of = {video.pk: slug for slug, video in videos.items()}
    scores: Counter[str] = Counter()
    for model, weight in SIGNALS:
        # order_by() drops the model's ordering, which would join the GROUP BY.
        counts = model.objects.values("video").annotate(n=Count("pk")).order_by()
        for row in counts:
            slug = slug_of.get(row["video"])
            if slug is not None:
                scores[slug] += weight * row["n"]
    return scores


def popularity_order(videos: Iterable[Video], scores: Counter[str]) -> list[str]:
    """Every video's slug, most popular first, then newest, then by slug."""
    ranked = sorted(videos, key=lambda video: video.slug)
    ranked.sort(key=lambda video: video.published_at, reverse=True)
    ranked.sort(key=lambda video: scores[video.slug], reverse=True)
    return [video.slug for video in ranked]


def touches_by_user(videos: dict[str, Video]) -> dict[int, Counter[str]]:
    """For each user, the weight of each published video they touched.

    A video both watched and favorited by someone weighs 3 + 1.
    """
    touches: dict[int, Counter[str]] = defaultdict(Counter)
    for model, weight in SIGNALS:
        # Slugs rather than ids: no UUID is built per row, and a slug's hash
        # is cached for the counting below. Unpublished videos are few and
        # cheaper to skip here than to filter out in SQL.
        rows = model.objects.values_list("user_id", "video__slug").order_by()
        for user_id, slug in rows.iterator(chunk_size=10_000):
            if slug in videos:
                touches[user_id][slug] += weight
    return touches


def co_occurrence(touches: dict[int, Counter[str]]) -> dict[str, Counter[str]]:
    """For each video, the summed weights of the other videos its viewers
    touched.

    A video counts itself too; related_order leaves it out. The work grows
    with the sum over users of (videos touched) squared.
    """
    together: dict[str, Counter[str]] = defaultdict(Counter)
    for weights in touches.values():
        # Each slug repeated by its weight: Counter counts a plain iterable
        # in C, where adding a mapping would loop in Python.
        repeated = list(weights.elements())
        for slug in weights:
            together[slug].update(repeated)
    return together


def related_order(
    slug: str,
    together: Counter[str],
    popular: Sequence[str],
    rank: Mapping[str, int],
    length: int = LIST_LENGTH,
) -> list[str]:
    """Up to ``length`` slugs related to one video, topped up by popularity.

    ``rank`` is each slug's position in ``popular``; a slug missing from it is
    not published. The video itself never appears, nor any slug twice.
    """
    candidates = (other for other in together if other != slug and other in rank)
    chosen = heapq.nsmallest(
        length, candidates, key=lambda other: (-together[other], rank[other])
    )

    taken = {slug, *chosen}
    for other in popular:
        if len(chosen) >= length:
            break
        if other not in taken:
            chosen.append(other)
            taken.add(other)
    return chosen
