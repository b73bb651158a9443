"""Pictures of words for the tests of image screening: real PNGs whose words a fake model can read back.

No machine here can run a vision model, so the fake moderator "reads" a picture by its PNG `tEXt` chunk: the
image is valid (Claude would accept it), and the words stand for what a model would see in it.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any


def png_with_words(words: str, width: int = 1, height: int = 1) -> bytes:
    """A greyscale PNG whose `tEXt` chunk ("Comment") holds `words` (its header says `width` x `height`; the pixels
    are those of a 1x1 picture, which no test decodes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"tEXt", b"Comment\x00" + words.encode()),
            chunk(b"IDAT", zlib.compress(b"\x00\x00")),
            chunk(b"IEND", b""),
        ]
    )


def jpeg_of_size(width: int, height: int) -> bytes:
    """The segments of a JPEG up to its frame header (start of image, a JFIF header, a start-of-frame), then its end."""
    jfif = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + jfif + frame + b"\xff\xd9"


def gif_of_size(width: int, height: int) -> bytes:
    """A GIF's header and logical screen (its size), then its trailer."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def webp_of_size(width: int, height: int, kind: str = "VP8X") -> bytes:
    """The first chunk of a WebP of each kind (extended, lossless, lossy) as far as it gives the size."""
    if kind == "VP8X":
        body = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    elif kind == "VP8L":
        body = b"\x2f" + struct.pack("<I", (width - 1) | ((height - 1) << 14))
    else:
        body = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", width, height)
    chunk = kind.encode() + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def image_block(words: str) -> dict[str, Any]:
    """A Messages API image block (inline base64 PNG) of `words`."""
    data = base64.b64encode(png_with_words(words)).decode()
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}


def words_in_pictures(body: dict[str, Any]) -> list[str]:
    """The words of every PNG image block in the user turns of a Messages request body."""
    words = []
    for message in body.get("messages", []):
        if message.get("role") != "user" or isinstance(message.get("content"), str):
            continue
        for block in message["content"]:
            if block.get("type") == "image" and block.get("source", {}).get("type") == "base64":
                png = base64.b64decode(block["source"]["data"])
                start = png.index(b"tEXt") + len(b"tEXt")
                (length,) = struct.unpack(">I", png[start - 8 : start - 4])
                words.append(png[start : start + length].split(b"\x00", 1)[1].decode())
    return words
