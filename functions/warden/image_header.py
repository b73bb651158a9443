"""What an image's first bytes say: its format (JPEG, PNG, GIF or WebP, the ones Claude reads) and its size in pixels.

Read from the headers alone, without decoding the picture, so that the gateway can refuse what Claude would refuse
(a PNG sent as image/jpeg, a picture wider than Claude takes) before the moderator's call fails on it and the
tenant's fail mode turns a malformed request into an outage.
"""

from __future__ import annotations

import struct

_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# JPEG start-of-frame markers (they carry the size): C0-CF but for C4 (Huffman tables), C8 (reserved) and CC
# (arithmetic coding conditioning).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# JPEG markers with no length after them.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def image_format(data: bytes) -> str | None:
    """The media type of the image the bytes hold, or None when they are none of JPEG, PNG, GIF or WebP."""
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels, or None when the header is cut short or not understood (the caller then leaves
    the judgement to Claude)."""
    media_type = image_format(data)
    try:
        if media_type == "image/png" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if media_type == "image/gif":
            width, height = struct.unpack("<HH", data[6:10])
            return width, height
        if media_type == "image/webp":
            return _webp_size(data)
        if media_type == "image/jpeg":
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: the canvas size, 24 bits each, less one
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return (width, height) if len(data) >= 30 else None
    if chunk == b"VP8L" and data[20:21] == b"\x2f":  # lossless: 14 bits each, less one, after the signature byte
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: 14 bits each after the frame's start code
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The size in the first start-of-frame segment, found by walking the segments from the start."""
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in _JPEG_STANDALONE:
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        if marker == 0xDA or length < 2:  # the scan starts (or the segment is broken) before any frame header
            return None
        index += 2 + length
    return None
