from __future__ import annotations

from django.core.management.base import BaseCommand

from recommendations import ranking

REFRESHED = "Recommendations refreshed: {videos}, {popular}."


class Command(BaseCommand):
    help = (
        "Recompute every recommendation list from favorites and watch history "
        "and replace the stored ones at once. Safe to run at any time."
    )

    def handle(self, *args, **options):
        refreshed = ranking.refresh()
        self.stdout.write(
            REFRESHED.format(
                videos=plural(refreshed.videos, "video"),
                popular=plural(refreshed.popular, "popular list"),
            )
        )


def plural(count: int, singular: str) -> str:
    return f"{count} {singular if count == 1 else singular + 's'}"
