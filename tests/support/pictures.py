"""Pictures of words for the tests of image screening: real PNGs whose words a fake model can read back.

No machine here can run a vision model, so the fake moderator "reads" a picture by its PNG `tEXt` chunk: the
image is valid (Claude would accept it), and the words stand for what a model would see in it.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any


def png_with_words(words: str) -> bytes:
    """A 1x1 greyscale PNG whose `tEXt` chunk ("Comment") holds `words`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"tEXt", b"Comment\x00" + words.encode()),
            chunk(b"IDAT", zlib.compress(b"\x00\x00")),
            chunk(b"IEND", b""),
        ]
    )


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
