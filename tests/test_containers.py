"""videos.containers against real files made by ffmpeg, and hand-built headers."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from imageio_ffmpeg import get_ffmpeg_exe

from videos.containers import NotAVideo, duration, sniff

TWO_SECONDS = timedelta(seconds=2)
GARBAGE = b"\xde\xad\xbe\xef\x00\x01\x02\x03"
# Encoders pad the last frame; 0.1 s is one frame at 10 fps.
TOLERANCE = timedelta(seconds=0.1)

EMPTY = "The file is empty."
NOT_A_VIDEO = "The file is not an MP4 or WebM video."
QUICKTIME = "QuickTime .mov is not MP4; please upload an MP4 or WebM video."
MATROSKA = "Matroska (.mkv) is not WebM; please upload an MP4 or WebM video."

SOURCE = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=2"]
H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
VP9 = ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "50", "-deadline", "realtime"]
RECIPES = {
    "faststart.mp4": [*H264, "-movflags", "+faststart"],
    "plain.mp4": H264,
    "fragmented.mp4": [*H264, "-movflags", "frag_keyframe+empty_moov"],
    "video.webm": VP9,
    "video.mkv": H264,
    "video.mov": [*H264, "-f", "mov"],
    "still.jpg": ["-frames:v", "1"],
}
VIDEOS = ["faststart.mp4", "plain.mp4", "video.webm"]

# RFC 8794 / RFC 9559 element IDs, for hand-built WebM headers.
EBML, DOCTYPE, SEGMENT, INFO = 0x1A45DFA3, 0x4282, 0x18538067, 0x1549A966
TIMESTAMP_SCALE, DURATION, CLUSTER = 0x2AD7B1, 0x4489, 0x1F43B675
THREE = bytes.fromhex("40A7700000000000")  # 3000.0 as a 64-bit float: 3 s in ms


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("containers")
    for name, options in RECIPES.items():
        command = [get_ffmpeg_exe(), "-nostdin", "-loglevel", "error"]
        subprocess.run([*command, *SOURCE, *options, str(folder / name)], check=True)
    return {name: folder / name for name in RECIPES}


class CountingReader:
    """A file object that counts the bytes read through it."""

    def __init__(self, data: bytes) -> None:
        self.file = io.BytesIO(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def seek(self, position: int) -> int:
        return self.file.seek(position)

    def tell(self) -> int:
        return self.file.tell()


def box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4) + kind + payload


def mvhd(version: int, timescale: int, ticks: int) -> bytes:
    if version == 1:
        times = bytes(16) + timescale.to_bytes(4) + ticks.to_bytes(8)
    else:
        times = bytes(8) + timescale.to_bytes(4) + ticks.to_bytes(4)
    # Rate, volume, matrix, pre_defined and next_track_ID: 80 bytes.
    return box(b"mvhd", bytes([version, 0, 0, 0]) + times + bytes(80))


FTYP = box(b"ftyp", b"isom" + bytes(4) + b"isomiso2")


def element(element_id: int, payload: bytes) -> bytes:
    id_bytes = element_id.to_bytes((element_id.bit_length() + 7) // 8)
    # An 8-byte size VINT: marker in the first byte, the size after it.
    return id_bytes + ((1 << 56) | len(payload)).to_bytes(8) + payload


def webm(*segment_children: bytes) -> io.BytesIO:
    header = element(EBML, element(DOCTYPE, b"webm"))
    return io.BytesIO(header + element(SEGMENT, b"".join(segment_children)))


def assert_about_two_seconds(found: timedelta | None) -> None:
    assert found is not None
    assert abs(found - TWO_SECONDS) <= TOLERANCE


def box_offset(data: bytes, needle: bytes) -> int:
    """Offset of the box whose type is needle (its size field comes first)."""
    return data.index(needle) - 4


# sniff


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("faststart.mp4", ".mp4"),
        ("plain.mp4", ".mp4"),
        ("fragmented.mp4", ".mp4"),
        ("video.webm", ".webm"),
    ],
)
def test_it_sniffs_the_extension_from_the_content(
    made: dict[str, Path], name: str, extension: str
) -> None:
    with made[name].open("rb") as video:
        assert sniff(video) == extension
        assert video.tell() == 0


def test_it_sniffs_from_the_first_byte_even_after_the_file_was_read(
    made: dict[str, Path],
) -> None:
    video = io.BytesIO(made["video.webm"].read_bytes())
    video.read(500)

    assert sniff(video) == ".webm"
    assert video.tell() == 0


def test_sniff_refuses_quicktime_mov_with_its_own_message(
    made: dict[str, Path],
) -> None:
    with made["video.mov"].open("rb") as video:
        with pytest.raises(NotAVideo) as refused:
            sniff(video)
        assert video.tell() == 0
    assert str(refused.value) == QUICKTIME


def test_sniff_refuses_matroska_mkv_with_its_own_message(
    made: dict[str, Path],
) -> None:
    with made["video.mkv"].open("rb") as video:
        with pytest.raises(NotAVideo) as refused:
            sniff(video)
        assert video.tell() == 0
    assert str(refused.value) == MATROSKA


def test_sniff_refuses_an_empty_file_as_a_value_error() -> None:
    with pytest.raises(ValueError) as refused:
        sniff(io.BytesIO(b""))
    assert isinstance(refused.value, NotAVideo)
    assert str(refused.value) == EMPTY


def test_sniff_refuses_a_jpeg(made: dict[str, Path]) -> None:
    with made["still.jpg"].open("rb") as photo, pytest.raises(NotAVideo) as refused:
        sniff(photo)
    assert str(refused.value) == NOT_A_VIDEO


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"Just some plain text, not a video.\n", id="plain text"),
        pytest.param(GARBAGE, id="8 garbage bytes"),
        pytest.param(box(b"ftyp", b"") + box(b"free", b""), id="ftyp without brand"),
        pytest.param(FTYP[:4] + b"ftypheic" + FTYP[12:], id="HEIF photo"),
        pytest.param(
            element(EBML, element(DOCTYPE, b"notwebm")), id="other EBML doctype"
        ),
        pytest.param(element(EBML, b""), id="EBML without doctype"),
        pytest.param(
            bytes.fromhex("1A45DFA3FF") + element(DOCTYPE, b"webm"),
            id="EBML header of unknown size",
        ),
        pytest.param(bytes.fromhex("1A45DFA3"), id="EBML magic alone"),
    ],
)
def test_sniff_refuses_other_content_as_not_a_video(content: bytes) -> None:
    upload = io.BytesIO(content)
    with pytest.raises(NotAVideo) as refused:
        sniff(upload)
    assert str(refused.value) == NOT_A_VIDEO
    assert upload.tell() == 0


def test_it_sniffs_a_webm_doctype_padded_with_zero_bytes() -> None:
    padded = element(EBML, element(DOCTYPE, b"webm\x00\x00"))
    assert sniff(io.BytesIO(padded)) == ".webm"


def sniffed(data: bytes) -> str:
    """The extension sniff gives, or the message it refuses with."""
    try:
        return sniff(io.BytesIO(data))
    except NotAVideo as refused:
        return str(refused)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("faststart.mp4", ".mp4"),
        ("video.webm", ".webm"),
        ("video.mkv", MATROSKA),
        ("video.mov", QUICKTIME),
    ],
)
def test_sniff_raises_only_not_a_video_for_every_truncation(
    made: dict[str, Path], name: str, expected: str
) -> None:
    data = made[name].read_bytes()
    assert sniffed(data) == expected
    assert sniffed(b"") == EMPTY
    for cut in range(1, 300):
        assert sniffed(data[:cut]) in {expected, NOT_A_VIDEO}


# duration: real files


@pytest.mark.parametrize("name", VIDEOS)
def test_it_reads_the_duration_from_the_header(
    made: dict[str, Path], name: str
) -> None:
    with made[name].open("rb") as video:
        video.seek(123)
        assert_about_two_seconds(duration(video, sniff(video)))
        assert video.tell() == 0


def test_it_reads_a_django_uploaded_file(made: dict[str, Path]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("clip.mp4", made["faststart.mp4"].read_bytes())

    assert sniff(upload) == ".mp4"
    assert_about_two_seconds(duration(upload, ".mp4"))
    assert upload.tell() == 0


def test_it_finds_the_moov_after_the_mdat_without_reading_the_mdat(
    made: dict[str, Path],
) -> None:
    data = made["plain.mp4"].read_bytes()
    assert box_offset(data, b"mdat") < box_offset(data, b"moov")
    assert len(data) > 16 * 1024
    reader = CountingReader(data)

    assert_about_two_seconds(duration(reader, ".mp4"))
    assert reader.bytes_read < 1024
    assert reader.tell() == 0


def test_it_reads_the_webm_duration_without_reading_the_clusters(
    made: dict[str, Path],
) -> None:
    data = made["video.webm"].read_bytes()
    assert len(data) > 8 * 1024
    reader = CountingReader(data)

    assert_about_two_seconds(duration(reader, ".webm"))
    assert reader.bytes_read < 1024


def test_it_follows_a_64_bit_largesize_mdat(made: dict[str, Path]) -> None:
    data = bytearray(made["plain.mp4"].read_bytes())
    # ffmpeg leaves an 8-byte free box before mdat so that the mdat header can
    # grow to a 16-byte largesize header in place, as done here.
    free, mdat = box_offset(data, b"free"), box_offset(data, b"mdat")
    assert mdat == free + 8
    mdat_size = int.from_bytes(data[mdat : mdat + 4])
    header = (1).to_bytes(4) + b"mdat" + (mdat_size + 8).to_bytes(8)
    data[free : mdat + 8] = header

    assert_about_two_seconds(duration(io.BytesIO(bytes(data)), ".mp4"))


def test_it_reads_a_moov_of_size_zero_running_to_the_end_of_the_file(
    made: dict[str, Path],
) -> None:
    data = bytearray(made["plain.mp4"].read_bytes())
    moov = box_offset(data, b"moov")
    data[moov : moov + 4] = bytes(4)

    assert_about_two_seconds(duration(io.BytesIO(bytes(data)), ".mp4"))


def test_it_returns_none_for_a_fragmented_mp4_whose_header_holds_no_duration(
    made: dict[str, Path],
) -> None:
    with made["fragmented.mp4"].open("rb") as video:
        assert duration(video, ".mp4") is None
        assert video.tell() == 0


def test_it_reads_a_webm_whose_segment_has_an_unknown_size(
    made: dict[str, Path],
) -> None:
    data = bytearray(made["video.webm"].read_bytes())
    size_at = data.index(SEGMENT.to_bytes(4)) + 4
    assert data[size_at] == 0x01  # ffmpeg writes an 8-byte size
    data[size_at : size_at + 8] = b"\x01" + b"\xff" * 7

    assert_about_two_seconds(duration(io.BytesIO(bytes(data)), ".webm"))


# duration: hand-built MP4 headers


def test_it_reads_a_version_1_mvhd_with_a_64_bit_duration() -> None:
    video = io.BytesIO(FTYP + box(b"moov", mvhd(1, 1000, 5_000_000_000)))
    assert duration(video, ".mp4") == timedelta(seconds=5_000_000)


def test_it_reads_a_moov_with_a_64_bit_largesize_header() -> None:
    header = mvhd(0, 1000, 2000)
    moov = (1).to_bytes(4) + b"moov" + (16 + len(header)).to_bytes(8) + header
    assert duration(io.BytesIO(FTYP + moov), ".mp4") == TWO_SECONDS


def test_it_reads_a_version_0_mvhd_after_other_moov_boxes() -> None:
    moov = box(b"moov", box(b"udta", bytes(20)) + mvhd(0, 600, 1_500))
    video = io.BytesIO(FTYP + box(b"free", bytes(100)) + moov)
    assert duration(video, ".mp4") == timedelta(seconds=2.5)


@pytest.mark.parametrize(
    "moov",
    [
        pytest.param(box(b"moov", mvhd(0, 1000, 2**32 - 1)), id="unknown duration"),
        pytest.param(box(b"moov", mvhd(1, 1000, 2**64 - 1)), id="unknown v1"),
        pytest.param(box(b"moov", mvhd(0, 0, 2000)), id="zero timescale"),
        pytest.param(box(b"moov", mvhd(2, 1000, 2000)), id="unknown version"),
        pytest.param(
            box(b"moov", box(b"mvhd", mvhd(0, 1000, 2000)[8:58]) + bytes(100)),
            id="mvhd smaller than its fields",
        ),
        pytest.param(box(b"moov", box(b"trak", bytes(8))), id="no mvhd"),
        pytest.param(
            (8 + 50).to_bytes(4) + b"moov" + mvhd(0, 1000, 2000),
            id="mvhd past the end of moov",
        ),
        pytest.param(bytes(4) + b"moov", id="empty moov to end of file"),
        pytest.param(box(b"free", bytes(8)), id="no moov"),
        pytest.param((4).to_bytes(4) + b"moov" + bytes(8), id="smaller than header"),
        pytest.param((1).to_bytes(4) + b"moov" + bytes(8), id="largesize zero"),
        pytest.param((2**31).to_bytes(4) + b"mdat", id="size past end of file"),
        pytest.param(
            (1).to_bytes(4) + b"mdat" + (2**64 - 1).to_bytes(8), id="largesize huge"
        ),
    ],
)
def test_it_returns_none_for_a_damaged_or_missing_mp4_header(moov: bytes) -> None:
    video = io.BytesIO(FTYP + moov)
    assert duration(video, ".mp4") is None
    assert video.tell() == 0


def test_it_stops_walking_boxes_that_never_end() -> None:
    # Each box claims 8 bytes: thousands of them, and no moov. The walk is
    # bounded, so it reads a bounded amount however long the file is.
    reader = CountingReader(FTYP + box(b"free", b"") * 100_000)
    assert duration(reader, ".mp4") is None
    assert reader.bytes_read < 64 * 1024


# duration: hand-built WebM headers


def test_it_reads_a_4_byte_float_duration_in_a_custom_timestamp_scale() -> None:
    info = element(TIMESTAMP_SCALE, (1000).to_bytes(2)) + element(
        DURATION,
        bytes.fromhex("49F42400"),  # 2_000_000.0 as a 32-bit float
    )
    assert duration(webm(element(INFO, info)), ".webm") == TWO_SECONDS


def test_it_uses_the_default_millisecond_timestamp_scale() -> None:
    info = element(DURATION, THREE)
    assert duration(webm(element(INFO, info)), ".webm") == timedelta(seconds=3)


@pytest.mark.parametrize(
    "segment",
    [
        pytest.param([element(INFO, element(TIMESTAMP_SCALE, b"\x0f"))], id="none"),
        pytest.param([element(INFO, element(DURATION, bytes(3)))], id="3-byte float"),
        pytest.param([element(INFO, element(DURATION, b""))], id="zero duration"),
        pytest.param(
            [element(INFO, element(DURATION, bytes.fromhex("7FF8000000000000")))],
            id="NaN",
        ),
        pytest.param(
            [
                element(CLUSTER, bytes(64)),
                element(INFO, element(DURATION, THREE)),
            ],
            id="info after the first cluster",
        ),
        pytest.param(
            [
                INFO.to_bytes(4)
                + ((1 << 56) | 100).to_bytes(8)
                + element(DURATION, THREE)
            ],
            id="info cut short",
        ),
        pytest.param(
            [
                bytes.fromhex("0812345678") + b"\x80",  # a 5-byte ID, empty
                element(INFO, element(DURATION, THREE)),
            ],
            id="element ID longer than 4 bytes",
        ),
        pytest.param(
            [element(INFO, DURATION.to_bytes(2) + bytes(9) + element(DURATION, THREE))],
            id="size VINT with no marker",
        ),
    ],
)
def test_it_returns_none_for_a_webm_header_without_a_usable_duration(
    segment: list[bytes],
) -> None:
    video = webm(*segment)
    assert duration(video, ".webm") is None
    assert video.tell() == 0


# duration: truncated and damaged input


@pytest.mark.parametrize("name", [*VIDEOS, "video.mkv", "video.mov"])
@pytest.mark.parametrize("extension", [".mp4", ".webm"])
def test_it_returns_none_for_the_first_100_bytes_of_a_real_file(
    made: dict[str, Path], name: str, extension: str
) -> None:
    start = io.BytesIO(made[name].read_bytes()[:100])
    assert duration(start, extension) is None
    assert start.tell() == 0


@pytest.mark.parametrize("extension", [".mp4", ".webm"])
def test_it_returns_none_for_8_garbage_bytes(extension: str) -> None:
    assert duration(io.BytesIO(GARBAGE), extension) is None


def test_it_returns_none_for_an_extension_it_does_not_read(
    made: dict[str, Path],
) -> None:
    with made["faststart.mp4"].open("rb") as video:
        assert duration(video, ".avi") is None


@pytest.mark.parametrize("name", VIDEOS)
def test_it_never_raises_on_any_truncation(made: dict[str, Path], name: str) -> None:
    data = made[name].read_bytes()
    extension = sniff(io.BytesIO(data))
    for cut in range(0, len(data), 7):
        found = duration(io.BytesIO(data[:cut]), extension)
        assert found is None or abs(found - TWO_SECONDS) <= TOLERANCE


@pytest.mark.parametrize("name", VIDEOS)
def test_it_never_raises_on_a_damaged_header_byte(
    made: dict[str, Path], name: str
) -> None:
    data = made[name].read_bytes()
    extension = sniff(io.BytesIO(data))
    # The start of the file, and the movie header wherever it is.
    moov = max(data.rfind(b"moov"), 0)
    for position in {*range(512), *range(moov - 4, moov + 252)}:
        for value in (0x00, 0x01, 0xFF):
            damaged = bytearray(data)
            damaged[position] = value
            found = duration(io.BytesIO(bytes(damaged)), extension)
            assert found is None or isinstance(found, timedelta)
