"""manage.py checkmedia: stored objects against the policy table."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from videos import media_audit

ON_FILE_SYSTEM = (
    "Media is on the file system: there is no object metadata to check. "
    "Set HITRATE_MEDIA_STORAGE=s3 and the bucket variables first (see the README)."
)
NEEDS_FIX = "Found drift or unreferenced objects: run with --fix to repair."
# An admin form may still be open on an upload that nothing refers to yet.
DEFAULT_OLDER_THAN = 3600


class Command(BaseCommand):
    help = (
        "Compare every stored object's Cache-Control and Content-Type with the "
        "policy table, and find objects no video refers to. With --fix, copy "
        "drifted objects onto themselves with the right headers and delete "
        "unreferenced ones."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix",
            action="store_true",
            help="Repair drifted headers and delete unreferenced objects.",
        )
        parser.add_argument(
            "--older-than",
            type=int,
            default=DEFAULT_OLDER_THAN,
            metavar="SECONDS",
            help="Delete only unreferenced objects last modified at least this "
            f"long ago (default {DEFAULT_OLDER_THAN}).",
        )

    def handle(self, *args, fix, older_than, **options):
        if not media_audit.on_s3():
            raise CommandError(ON_FILE_SYSTEM)
        if older_than < 0:
            raise CommandError("--older-than must be 0 or more seconds.")

        audit = media_audit.audit()
        for reason in audit.skipped:
            self.stderr.write(reason)
        for found in audit.drifted:
            for line in found.lines():
                self.stdout.write(line)
            if fix:
                media_audit.repair(found)
                self.stdout.write(
                    f"{found.object}: fixed, copied onto itself with the "
                    "table's headers"
                )

        deleted = kept = 0
        for found in audit.unreferenced:
            self.stdout.write(str(found))
            if not fix:
                continue
            if media_audit.is_recent(found.object, timedelta(seconds=older_than)):
                kept += 1
                self.stdout.write(
                    f"{found.object}: kept, modified less than {older_than} s ago"
                )
            else:
                media_audit.delete(found.object)
                deleted += 1
                self.stdout.write(f"{found.object}: deleted")

        self.stdout.write(summary(audit, fix, deleted, kept))
        if not fix and not audit.clean:
            raise CommandError(NEEDS_FIX)


def summary(audit: media_audit.Audit, fix: bool, deleted: int, kept: int) -> str:
    objects = "object" if audit.checked == 1 else "objects"
    drifted, unreferenced = len(audit.drifted), len(audit.unreferenced)
    if not fix:
        return (
            f"Checked {audit.checked} {objects}: {drifted} drifted, "
            f"{unreferenced} unreferenced."
        )
    line = (
        f"Checked {audit.checked} {objects}: {drifted} drifted, {drifted} fixed; "
        f"{unreferenced} unreferenced, {deleted} deleted"
    )
    return f"{line}, {kept} kept as recent." if kept else f"{line}."
