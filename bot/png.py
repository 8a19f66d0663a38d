"""PURE: one PNG writer (zlib and struct) for every picture Handoff draws, and a canvas of rectangles and digits.

No plotting library: the backtest's histogram draws with this alone, so scoring a file never loads matplotlib.
"""
from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# 3x5 pixel digits, for the backtest histogram's axis labels (drawn without a plotting library).
_GLYPHS = {"0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
           "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
           "8": "111101111101111", "9": "111101111001111", "-": "000000111000000"}


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG of `rgb` (width × height × 3 bytes, rows top to bottom)."""
    stride = width * 3
    if len(rgb) != stride * height:
        raise ValueError(f"expected {stride * height} bytes of RGB for {width}x{height}, got {len(rgb)}")
    raw = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride] for y in range(height))   # filter 0 on each row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class Canvas:
    """An RGB picture to draw rectangles and digits on, written out as a PNG."""

    def __init__(self, width: int, height: int, color: tuple[int, int, int]):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(color) * (width * height))

    def fill(self, left: int, top: int, right: int, bottom: int, color: tuple[int, int, int]) -> None:
        """Fill [left, right) × [top, bottom), clipped to the picture."""
        left, right = max(0, left), min(self.width, right)
        if right <= left:
            return
        row = bytes(color) * (right - left)
        for y in range(max(0, top), min(self.height, bottom)):
            start = (y * self.width + left) * 3
            self.pixels[start:start + len(row)] = row

    def text(self, left: int, top: int, digits: str, color: tuple[int, int, int], scale: int = 2) -> None:
        for index, char in enumerate(digits):
            glyph = _GLYPHS[char]
            for cell, on in enumerate(glyph):
                if on == "1":
                    x, y = left + (index * 4 + cell % 3) * scale, top + cell // 3 * scale
                    self.fill(x, y, x + scale, y + scale, color)

    def png(self) -> bytes:
        return encode_png(self.width, self.height, bytes(self.pixels))
