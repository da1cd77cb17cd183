"""What kind of video an upload is, and how long it plays, read from its header.

Only the container is inspected: a few small reads, seeking over media data, so
a large upload is never held in memory. Pure Python with light imports, as it
runs in the Lambda package.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from datetime import timedelta
from typing import Protocol

__all__ = ["NotAVideo", "duration", "sniff"]


class NotAVideo(ValueError):
    """The upload is not an MP4 or WebM video; the message is for the user."""


class _Stream(Protocol):
    def read(self, size: int, /) -> bytes: ...

    def seek(self, offset: int, /) -> object: ...


_EMPTY = "The file is empty."
_NOT_A_VIDEO = "The file is not an MP4 or WebM video."
_QUICKTIME = "QuickTime .mov is not MP4; please upload an MP4 or WebM video."
_MATROSKA = "Matroska (.mkv) is not WebM; please upload an MP4 or WebM video."

# Both headers sit at the very start of the file: one small read is enough.
_SNIFF_BYTES = 1024

# ISO/IEC 14496-12 (ISO base media file format).
_QUICKTIME_BRAND = b"qt  "
# HEIF and AVIF photos are ISO base media files too (ISO/IEC 23008-12), but
# still images, not videos.
_IMAGE_BRANDS = frozenset({b"mif1", b"heic", b"heix", b"avif"})
# Boxes visited before giving up: bounds the reads on garbage input.
_MAX_BOXES = 1024
# Movie header body (§8.2.2) after the box header: version 0 and version 1.
_MVHD_SIZES = {0: 100, 1: 112}

# RFC 8794 (EBML) and RFC 9559 (Matroska) element IDs.
_EBML = 0x1A45DFA3
_DOCTYPE = 0x4282
_SEGMENT = 0x18538067
_INFO = 0x1549A966
_TIMESTAMP_SCALE = 0x2AD7B1
_DURATION = 0x4489
_CLUSTER = 0x1F43B675
_EBML_MAGIC = _EBML.to_bytes(4)
# Matroska's EBMLMaxIDLength is 4; sizes are at most 8 bytes (RFC 8794 §6.1).
_MAX_ID_WIDTH = 4
_MAX_SIZE_WIDTH = 8
# TimestampScale default: timestamps in milliseconds (RFC 9559).
_DEFAULT_TIMESTAMP_SCALE = 1_000_000
# Info holds a few numbers and short strings; more means damage.
_MAX_INFO_BYTES = 64 * 1024
_MAX_ELEMENTS = 1024


def sniff(fileobj: _Stream) -> str:
    """The extension, ".mp4" or ".webm", judged by the first bytes.

    Leaves the position at 0.
    """
    try:
        head = _read_at(fileobj, 0, _SNIFF_BYTES)
    finally:
        fileobj.seek(0)
    if not head:
        raise NotAVideo(_EMPTY)
    if head[4:8] == b"ftyp":
        return _sniff_mp4(head)
    if head.startswith(_EBML_MAGIC):
        return _sniff_webm(head)
    raise NotAVideo(_NOT_A_VIDEO)


def duration(fileobj: _Stream, extension: str) -> timedelta | None:
    """The play time in the container header, or None if absent or damaged.

    Leaves the position at 0.
    """
    reader = {".mp4": _mp4_duration, ".webm": _webm_duration}.get(extension)
    if reader is None:
        return None
    try:
        return reader(fileobj)
    except (OSError, OverflowError, ValueError):
        # A damaged size can point past what seek() accepts (beyond a C long,
        # or negative for some file objects): that is a damaged header too.
        return None
    finally:
        fileobj.seek(0)


def _read_at(fileobj: _Stream, position: int, size: int) -> bytes:
    """Up to size bytes from position; fewer only at the end of the file."""
    fileobj.seek(position)
    data = b""
    while len(data) < size:
        chunk = fileobj.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _timedelta(microseconds: float) -> timedelta | None:
    """A positive play time, or None for zero, NaN or out-of-range values."""
    if not math.isfinite(microseconds) or microseconds <= 0:
        return None
    try:
        return timedelta(microseconds=microseconds)
    except OverflowError:
        return None


# MP4: ISO/IEC 14496-12.


def _sniff_mp4(head: bytes) -> str:
    """Accept an ftyp box at offset 0 unless its brand says QuickTime or photo."""
    # §4.3: the File Type box holds at least major_brand and minor_version.
    if int.from_bytes(head[:4]) < 16 or len(head) < 16:
        raise NotAVideo(_NOT_A_VIDEO)
    major_brand = head[8:12]
    if major_brand == _QUICKTIME_BRAND:
        raise NotAVideo(_QUICKTIME)
    if major_brand in _IMAGE_BRANDS:
        raise NotAVideo(_NOT_A_VIDEO)
    return ".mp4"


def _boxes(
    fileobj: _Stream, start: int, end: int | None
) -> Iterator[tuple[bytes, int, int | None]]:
    """Type, body offset and end offset (None: end of file) of each box."""
    position = start
    for _ in range(_MAX_BOXES):
        if end is not None and position + 8 > end:
            return
        # §4.2: a 32-bit size and a 4-byte type, then a 64-bit largesize
        # when size is 1.
        header = _read_at(fileobj, position, 16)
        if len(header) < 8:
            return
        size, kind, body = int.from_bytes(header[:4]), header[4:8], position + 8
        if size == 1:
            if len(header) < 16:
                return
            size, body = int.from_bytes(header[8:16]), position + 16
        if size == 0:
            # §4.2: size 0 means the box runs to the end of the file.
            box_end = end
        elif size < body - position:
            # Smaller than its own header: damaged, and would never advance.
            return
        else:
            box_end = position + size
            if end is not None and box_end > end:
                return
        yield kind, body, box_end
        if box_end is None:
            return
        position = box_end


def _mp4_duration(fileobj: _Stream) -> timedelta | None:
    """Find moov among the top-level boxes, seeking over mdat, then its mvhd."""
    for kind, body, end in _boxes(fileobj, 0, None):
        if kind == b"moov":
            for child, child_body, child_end in _boxes(fileobj, body, end):
                if child == b"mvhd":
                    return _mvhd_duration(fileobj, child_body, child_end)
            return None
    return None


def _mvhd_duration(fileobj: _Stream, body: int, end: int | None) -> timedelta | None:
    """The Movie Header's duration / timescale (§8.2.2)."""
    data = _read_at(fileobj, body, max(_MVHD_SIZES.values()))
    needed = _MVHD_SIZES.get(data[0]) if data else None
    if needed is None or len(data) < needed:
        return None
    if end is not None and end - body < needed:
        return None
    # After version (1 byte) and flags (3): creation and modification times,
    # then timescale and duration; 64-bit times and duration in version 1.
    if data[0] == 1:
        timescale, value, unknown = data[20:24], data[24:32], 2**64 - 1
    else:
        timescale, value, unknown = data[12:16], data[16:20], 2**32 - 1
    scale, ticks = int.from_bytes(timescale), int.from_bytes(value)
    # All 1s: "the duration cannot be determined"; 0 is what fragmented
    # files (moov without samples) write.
    if scale == 0 or ticks in (0, unknown):
        return None
    return _timedelta(ticks * 1_000_000 / scale)


# WebM: EBML (RFC 8794) carrying the Matroska schema (RFC 9559).


def _vint_width(buffer: bytes, position: int) -> int | None:
    """VINT_WIDTH (RFC 8794 §4.1): leading zero bits of the first byte, plus 1."""
    if position >= len(buffer) or buffer[position] == 0:
        return None
    return 9 - buffer[position].bit_length()


def _element_header(buffer: bytes, position: int) -> tuple[int, int, int | None] | None:
    """Element ID, data offset and data size (None: unknown) at position."""
    id_width = _vint_width(buffer, position)
    if id_width is None or id_width > _MAX_ID_WIDTH:
        return None
    size_at = position + id_width
    size_width = _vint_width(buffer, size_at)
    if size_width is None or size_at + size_width > len(buffer):
        return None
    data_at = size_at + size_width
    # §5: the Element ID keeps its VINT_MARKER; §4.3: the size is VINT_DATA,
    # the bits after the marker.
    element_id = int.from_bytes(buffer[position:size_at])
    all_ones = (1 << 7 * size_width) - 1
    size = int.from_bytes(buffer[size_at:data_at]) & all_ones
    # §6.2: VINT_DATA all 1s is the unknown size (a live-written Segment).
    return element_id, data_at, None if size == all_ones else size


def _children(buffer: bytes) -> Iterator[tuple[int, bytes]]:
    """ID and data of each complete element in buffer."""
    position = 0
    while (header := _element_header(buffer, position)) is not None:
        element_id, data_at, size = header
        if size is None or data_at + size > len(buffer):
            return
        yield element_id, buffer[data_at : data_at + size]
        position = data_at + size


def _elements(
    fileobj: _Stream, start: int, end: int | None
) -> Iterator[tuple[int, int, int | None]]:
    """ID, data offset and data size (None: unknown) of each element in a file."""
    position = start
    for _ in range(_MAX_ELEMENTS):
        if end is not None and position >= end:
            return
        header = _read_at(fileobj, position, _MAX_ID_WIDTH + _MAX_SIZE_WIDTH)
        parsed = _element_header(header, 0)
        if parsed is None:
            return
        element_id, data_at, size = parsed
        yield element_id, position + data_at, size
        if size is None:
            # Nothing after an unknown-size element can be located by seeking.
            return
        position += data_at + size


def _sniff_webm(head: bytes) -> str:
    """Accept an EBML header whose DocType (RFC 8794 §11.2) is "webm"."""
    header = _element_header(head, 0)
    if header is None or header[2] is None:
        raise NotAVideo(_NOT_A_VIDEO)
    _, data_at, size = header
    for element_id, data in _children(head[data_at : data_at + size]):
        if element_id == _DOCTYPE:
            # §7.4: a String may be padded with zero bytes.
            doctype = data.rstrip(b"\x00")
            if doctype == b"webm":
                return ".webm"
            if doctype == b"matroska":
                raise NotAVideo(_MATROSKA)
            break
    raise NotAVideo(_NOT_A_VIDEO)


def _webm_duration(fileobj: _Stream) -> timedelta | None:
    """Find the Segment after the EBML header, then its Info."""
    elements = _elements(fileobj, 0, None)
    first = next(elements, None)
    if first is None or first[0] != _EBML:
        return None
    for element_id, data_at, size in elements:
        if element_id == _SEGMENT:
            end = None if size is None else data_at + size
            return _segment_duration(fileobj, data_at, end)
    return None


def _segment_duration(
    fileobj: _Stream, start: int, end: int | None
) -> timedelta | None:
    """Read Info, seeking over the SeekHead, Tracks and other elements."""
    for element_id, data_at, size in _elements(fileobj, start, end):
        if element_id == _INFO:
            return _info_duration(fileobj, data_at, size)
        if element_id == _CLUSTER:
            # RFC 9559 (element ordering): the first Info comes before the
            # first Cluster, unless only a SeekHead points to it. Walking on
            # would mean walking the media; such files get no duration.
            return None
    return None


def _info_duration(fileobj: _Stream, start: int, size: int | None) -> timedelta | None:
    """Duration times TimestampScale (nanoseconds per tick), from Info."""
    if size is None or size > _MAX_INFO_BYTES:
        return None
    info = _read_at(fileobj, start, size)
    if len(info) < size:
        return None
    scale, ticks = _DEFAULT_TIMESTAMP_SCALE, None
    for element_id, data in _children(info):
        # RFC 8794 §7.2: an empty unsigned integer takes the default value.
        if element_id == _TIMESTAMP_SCALE and data:
            scale = int.from_bytes(data)
        elif element_id == _DURATION:
            ticks = _float(data)
    if ticks is None:
        return None
    return _timedelta(ticks * scale / 1000)


def _float(data: bytes) -> float | None:
    """An EBML Float (RFC 8794 §7.3): 4 or 8 bytes, big-endian IEEE 754.

    The only other valid length, 0, means 0.0: no duration either.
    """
    if len(data) == 4:
        return struct.unpack(">f", data)[0]
    if len(data) == 8:
        return struct.unpack(">d", data)[0]
    return None
