"""Reading an image's format and size from its header (what the gateway checks before Claude would refuse it)."""

from __future__ import annotations

import struct

import pytest
from warden.image_header import image_format, image_size

from tests.support.pictures import gif_of_size, jpeg_of_size, png_with_words, webp_of_size


@pytest.mark.parametrize(
    ("data", "media_type", "size"),
    [
        (png_with_words("hello", 640, 480), "image/png", (640, 480)),
        (jpeg_of_size(1024, 768), "image/jpeg", (1024, 768)),
        (gif_of_size(9000, 12), "image/gif", (9000, 12)),
        (webp_of_size(8001, 3), "image/webp", (8001, 3)),
        (webp_of_size(300, 200, "VP8L"), "image/webp", (300, 200)),
        (webp_of_size(16383, 5, "VP8 "), "image/webp", (16383, 5)),
    ],
    ids=["png", "jpeg", "gif", "webp-extended", "webp-lossless", "webp-lossy"],
)
def test_the_format_and_size_are_read_from_the_header(data: bytes, media_type: str, size: tuple[int, int]) -> None:
    assert image_format(data) == media_type
    assert image_size(data) == size


def test_a_jpeg_frame_header_is_found_past_other_segments_and_fill_bytes() -> None:
    # Given a progressive JPEG (SOF2) whose frame header follows an EXIF segment, a quantisation table, a restart
    # marker's standalone kind and fill bytes
    exif = b"\xff\xe1" + struct.pack(">H", 2 + 20) + b"Exif\x00\x00" + b"\x00" * 14
    tables = b"\xff\xdb" + struct.pack(">H", 2 + 65) + b"\x00" * 65
    frame = b"\xff\xc2" + struct.pack(">HBHHB", 11, 8, 3000, 4000, 1) + b"\x01\x11\x00"
    data = b"\xff\xd8" + exif + tables + b"\xff\xff" + frame + b"\xff\xd9"

    assert image_size(data) == (4000, 3000)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n",  # the signature alone
        png_with_words("x")[:20],  # cut inside the header
        b"\xff\xd8\xff\xe0\x00\x10JFIF",  # cut before any frame header
        b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 8,  # the scan starts with no frame header before it
        b"RIFF\x00\x00\x00\x00WEBPVP8X",  # cut short
        b"RIFF\x00\x00\x00\x00WEBPALPH\x00\x00\x00\x00",  # a chunk that gives no size
    ],
    ids=["png-signature", "png-cut", "jpeg-cut", "jpeg-no-frame", "webp-cut", "webp-unknown-chunk"],
)
def test_a_header_cut_short_or_not_understood_gives_no_size(data: bytes) -> None:
    # (The gateway then leaves the judgement to Claude rather than refuse an image it cannot read.)
    assert image_size(data) is None


@pytest.mark.parametrize("data", [b"", b"BM\x00\x00", b"%PDF-1.7", b"not an image at all"])
def test_bytes_of_no_format_claude_reads_have_no_format(data: bytes) -> None:
    assert image_format(data) is None
    assert image_size(data) is None
