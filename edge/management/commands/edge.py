"""python manage.py edge start|stop|status|config: the local edge cache."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from edge import config
from edge.runner import NO_AGE, Edge, EdgeError


def folder() -> Path:
    return Path(settings.DATA_DIR) / "edge"


class Command(BaseCommand):
    help = "Run nginx as the edge cache in front of the site (see edge/config.py)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status", "config"])
        port = config.DEFAULT_LISTEN.rpartition(":")[2]
        parser.add_argument("--port", type=int, default=int(port))
        parser.add_argument(
            "--origin", default=config.DEFAULT_ORIGIN, help="the site, host:port"
        )
        parser.add_argument(
            "--lab-ttl",
            type=int,
            default=None,
            help="seconds the edge keeps content that changes in place (lab only)",
        )

    def handle(self, *args, action, port, origin, lab_ttl, **options):
        host = config.DEFAULT_LISTEN.rpartition(":")[0]
        edge = Edge(folder(), f"{host}:{port}", origin, lab_ttl)
        try:
            getattr(self, action)(edge)
        except EdgeError as error:
            raise CommandError(str(error)) from None

    def start(self, edge: Edge) -> None:
        edge.start()
        if not edge.has_age():
            self.stderr.write(NO_AGE)
        self.stdout.write(f"Edge: {edge.url}/ in front of http://{edge.origin}/")

    def stop(self, edge: Edge) -> None:
        stopped = edge.stop()
        self.stdout.write("Edge stopped." if stopped else "The edge was not running.")

    def status(self, edge: Edge) -> None:
        pid = edge.pid()
        if pid is None:
            self.stdout.write("The edge is not running.")
        else:
            self.stdout.write(
                f"The edge is running (pid {pid}), logs in {edge.folder}."
            )

    def config(self, edge: Edge) -> None:
        self.stdout.write(edge.config(), ending="")
