from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from videos import demo
from videos.progress import Progress

CREATED = "Demo content created: {}."
ALREADY_LOADED = "Demo content already loaded: nothing to create."


class Command(BaseCommand):
    help = (
        "Create demo videos, users, an announcement and comments, once. "
        "Safe to run again: whatever exists is left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--videos",
            type=int,
            default=len(demo.VIDEOS),
            help=f"How many demo videos to load, 1 to {len(demo.VIDEOS)}.",
        )

    def handle(self, *args, videos: int, **options):
        if not 1 <= videos <= len(demo.VIDEOS):
            raise CommandError(f"--videos must be between 1 and {len(demo.VIDEOS)}.")

        # The raw stream: OutputWrapper would end each in-place redraw with a
        # newline.
        progress = Progress(demo.step_count(videos), "Demo", self.stderr._out)
        try:
            summary = demo.load(videos, progress)
        except demo.DemoError as error:
            raise CommandError(str(error)) from error
        finally:
            progress.close()

        if not summary.created_anything:
            self.stdout.write(ALREADY_LOADED)
            return
        counts = [
            plural(summary.videos, "video"),
            plural(summary.users, "user"),
            plural(summary.announcements, "announcement"),
            plural(summary.comments, "comment"),
            plural(summary.favorites, "favorite"),
            plural(summary.history, "watch history entry", "watch history entries"),
        ]
        self.stdout.write(CREATED.format(", ".join(counts)))


def plural(count: int, singular: str, many: str = "") -> str:
    return f"{count} {singular if count == 1 else many or singular + 's'}"
