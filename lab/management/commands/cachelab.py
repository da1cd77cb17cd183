"""python manage.py cachelab: replay a workload through a real edge and report.

Without ``--scenario`` it starts the site and an nginx edge on free ports of
127.0.0.1 (``lab.harness.Lab``), replays a seeded workload (``lab.workload``)
and prints hit ratios and latencies per content kind beside the seed's
targets (``lab.report``). ``--scenario NAME`` runs one of the lessons in
``lab.scenarios`` instead.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from edge.runner import EdgeError
from lab import report, scenarios, workload
from lab.harness import Lab
from videos.models import Video

# Sized to finish in well under a minute on two cores.
DEFAULT_VIEWS = 1000
DEFAULT_SECONDS = 90.0
DEFAULT_SEED = 4
# Short, so thumbnails, pages and recommendations expire and are refreshed
# several times during a run; the policy table is left as it is.
LAB_TTL = 5

NO_CONTENT = (
    "There is no published video to watch: run `make run` or "
    "`python manage.py loaddemo` first."
)
NOT_FILESYSTEM = (
    "The cache lab needs media served by the site itself "
    "(HITRATE_MEDIA_STORAGE=filesystem), so that the edge stands in front of it."
)


class Command(BaseCommand):
    help = "Replay a viewer workload through a real nginx edge and report hit ratios."

    def add_arguments(self, parser):
        parser.add_argument(
            "--viewers",
            type=int,
            default=DEFAULT_VIEWS,
            help=f"views in all, each by one viewer (default {DEFAULT_VIEWS})",
        )
        parser.add_argument(
            "--seconds",
            type=float,
            default=DEFAULT_SECONDS,
            help="stop starting new views after this long "
            f"(default {DEFAULT_SECONDS:.0f})",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--json", type=Path, help="write the report as JSON")
        parser.add_argument("--svg", type=Path, help="write a bar chart as SVG")
        parser.add_argument("--scenario", help="run one scenario by name instead")

    def handle(self, *args, scenario, **options):
        if scenario is not None:
            self.scenario(scenario)
            return
        if options["viewers"] < 1 or options["seconds"] <= 0:
            raise CommandError("--viewers and --seconds must be positive.")
        if settings.HITRATE_MEDIA_STORAGE != "filesystem":
            raise CommandError(NOT_FILESYSTEM)
        if not Video.objects.published().exists():
            raise CommandError(NO_CONTENT)

        try:
            built = self.replay(options["viewers"], options["seed"], options["seconds"])
        except EdgeError as error:
            raise CommandError(str(error)) from None

        self.stdout.write(report.text(built))
        if options["json"]:
            report.write_json(built, options["json"])
            self.stdout.write(f"Report written to {options['json']}")
        if options["svg"]:
            report.write_svg(built, options["svg"])
            self.stdout.write(f"Chart written to {options['svg']}")

    def replay(self, views: int, seed: int, seconds: float) -> dict:
        with Lab(lab_ttl=LAB_TTL) as lab:
            self.stdout.write(
                f"Edge {lab.edge_url} in front of the site at {lab.origin_url}; "
                f"{views} views by {workload.WORKERS} concurrent viewers, seed "
                f"{seed}; the edge keeps what changes in place for {LAB_TTL} s."
            )
            outcome, first_line = workload.replay(
                lab, views, seed, seconds, self.stdout
            )
            logged = first_line + len(outcome.timings)
            lines = lab.log_lines(at_least=logged)[first_line:]

        for change in outcome.changes:
            self.stdout.write(f"  {change}")
        if outcome.done < outcome.planned:
            self.stdout.write(
                f"Stopped after {seconds:.0f} s: {outcome.done} of "
                f"{outcome.planned} views were made."
            )
        if outcome.errors:
            self.stderr.write(
                f"{len(outcome.errors)} requests failed, the first: {outcome.errors[0]}"
            )
        self.stdout.write(
            f"{outcome.done} views, {len(outcome.timings)} requests in "
            f"{outcome.seconds:.1f} s.\n"
        )
        return report.build(
            lines,
            outcome.timings,
            views=outcome.done,
            planned_views=outcome.planned,
            workers=workload.WORKERS,
            seed=seed,
            lab_ttl=LAB_TTL,
            seconds=round(outcome.seconds, 3),
            changes=outcome.changes,
            errors=len(outcome.errors),
        )

    def scenario(self, name: str) -> None:
        if name not in scenarios.NAMES:
            raise CommandError(
                f"No scenario {name!r}; choose one of: {', '.join(scenarios.NAMES)}."
            )
        try:
            scenarios.run(name, self.stdout)
        except (EdgeError, scenarios.ScenarioError) as error:
            raise CommandError(str(error)) from None
