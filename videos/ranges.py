"""Byte ranges of a stored file: parsing Range and evaluating If-Range.

Pure functions over header values and a file's size and validators, after
RFC 9110 section 14 (range requests) and section 13.1.5 (If-Range). Only
single ranges are served: a request for several gets the whole file, which
section 14.2 allows ("a server MAY ignore the Range header field").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.http import parse_http_date_safe

# One range-spec (section 14.1.1): first-pos "-" [ last-pos ], or "-"
# suffix-length. Eighteen digits reach an exabyte; a longer number is
# treated as bad syntax, which keeps int() away from unbounded input.
_RANGE_SPEC = re.compile(r"(?P<first>[0-9]{0,18})[ \t]*-[ \t]*(?P<last>[0-9]{0,18})")


@dataclass(frozen=True)
class ByteRange:
    """The bytes start to end of a file of size bytes, both ends included."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        """The Content-Range of a 206 (RFC 9110 section 14.4)."""
        return f"bytes {self.start}-{self.end}/{self.size}"


class RangeNotSatisfiable(Exception):
    """The range lies wholly past the end of the file (RFC 9110 section 15.5.17)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size

    @property
    def content_range(self) -> str:
        """The Content-Range of a 416: the file's size alone (section 14.4)."""
        return f"bytes */{self.size}"


def parse_range(value: str | None, size: int) -> ByteRange | None:
    """The single byte range a Range header asks of a file, or None to ignore it.

    None covers an absent header, bad syntax, another unit and several
    ranges; all of them get the whole file. A well-formed range that starts
    past the end raises RangeNotSatisfiable.
    """
    if value is None:
        return None
    unit, equals, range_set = value.partition("=")
    # Range units are case-insensitive (RFC 9110 section 14.1).
    if not equals or unit.strip().lower() != "bytes":
        return None
    # A list may hold empty elements, to be skipped (section 5.6.1.2).
    specs = [spec.strip() for spec in range_set.split(",") if spec.strip()]
    if len(specs) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(specs[0])
    if match is None or not (match["first"] or match["last"]):
        return None
    if size == 0:
        # Section 14.2 lets a server ignore Range on an empty file, whose
        # nothing no Content-Range (section 14.4) could describe.
        return None
    if not match["first"]:
        return _suffix_range(int(match["last"]), size)
    return _int_range(int(match["first"]), match["last"], size)


def _suffix_range(length: int, size: int) -> ByteRange:
    """The last length bytes; all of them when the file is shorter."""
    if length == 0:
        raise RangeNotSatisfiable(size)
    return ByteRange(max(size - length, 0), size - 1, size)


def _int_range(first: int, last: str, size: int) -> ByteRange | None:
    if last and int(last) < first:
        # A last-pos below first-pos is invalid (section 14.1.1).
        return None
    if first >= size:
        raise RangeNotSatisfiable(size)
    # No last-pos, or one past the end, means "to the end" (section 14.1.2).
    end = min(int(last), size - 1) if last else size - 1
    return ByteRange(first, end, size)


def if_range_passes(value: str | None, etag: str, last_modified: int) -> bool:
    """Whether a range may be served, given If-Range (RFC 9110 section 13.1.5).

    An entity tag passes by strong comparison only, so a weak tag never
    does (section 8.8.3.2); a date passes when it names Last-Modified
    exactly. Anything else means the client's copy is stale: send it all.
    """
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag and not etag.startswith("W/")
    return parse_http_date_safe(value) == last_modified
