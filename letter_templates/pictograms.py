"""Simple pictograms for the easy-read letters, drawn here in plain Python (no image files).

Easy-read letters pair each short section with a picture. These are the project's own
drawings: a calendar (when), a person (who the check is for), a pill (what to bring), a
phone (how to book) and two people (bring someone). Each is a list of filled shapes given
as signed distance functions on the unit square, rasterised with 3x3 supersampling into a
small RGB PNG written with zlib, so the same script always makes the same bytes.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from functools import cache

Colour = tuple[int, int, int]
Shape = tuple[Callable[[float, float], float], Colour]

SIZE = 120  # pixels: about 300 dpi at the 10 mm the letters print them
SAMPLES = 3  # per side, per pixel
WHITE: Colour = (255, 255, 255)
INK: Colour = (33, 43, 50)  # near-black text colour
BLUE: Colour = (0, 94, 184)  # strong blue, readable for people with colour blindness
PALE: Colour = (216, 226, 236)


def box(
    x0: float, y0: float, x1: float, y1: float, r: float = 0.0
) -> Callable[[float, float], float]:
    """A rectangle with corners rounded by `r` (negative distance inside)."""
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 - r, (y1 - y0) / 2 - r

    def sdf(x: float, y: float) -> float:
        dx, dy = abs(x - cx) - hx, abs(y - cy) - hy
        outside = math.hypot(max(dx, 0.0), max(dy, 0.0))
        return outside + min(max(dx, dy), 0.0) - r

    return sdf


def disc(cx: float, cy: float, r: float) -> Callable[[float, float], float]:
    return lambda x, y: math.hypot(x - cx, y - cy) - r


def capsule(
    ax: float, ay: float, bx: float, by: float, r: float
) -> Callable[[float, float], float]:
    """A stick with round ends from (ax, ay) to (bx, by)."""
    vx, vy = bx - ax, by - ay
    length2 = vx * vx + vy * vy

    def sdf(x: float, y: float) -> float:
        t = max(0.0, min(1.0, ((x - ax) * vx + (y - ay) * vy) / length2))
        return math.hypot(x - ax - t * vx, y - ay - t * vy) - r

    return sdf


def grow(f: Callable[[float, float], float], by: float) -> Callable[[float, float], float]:
    """The same shape, `by` larger all round (an outline drawn under it)."""
    return lambda x, y: f(x, y) - by


def half(
    f: Callable[[float, float], float], nx: float, ny: float, cx: float = 0.5, cy: float = 0.5
) -> Callable[[float, float], float]:
    """The part of `f` on the side of the line through (cx, cy) that (nx, ny) points to."""
    return lambda x, y: max(f(x, y), -((x - cx) * nx + (y - cy) * ny))


def calendar() -> list[Shape]:
    page = box(0.12, 0.18, 0.88, 0.88, 0.06)
    shapes: list[Shape] = [
        (grow(page, 0.035), INK),
        (page, WHITE),
        (lambda x, y: max(page(x, y), y - 0.38), BLUE),
    ]
    for ring_x in (0.32, 0.68):
        shapes.append((box(ring_x - 0.04, 0.09, ring_x + 0.04, 0.28, 0.04), INK))
    for row in range(3):
        for col in range(4):
            x0, y0 = 0.2 + col * 0.155, 0.45 + row * 0.135
            day = BLUE if (row, col) == (1, 2) else PALE
            shapes.append((box(x0, y0, x0 + 0.11, y0 + 0.09, 0.015), day))
    return shapes


def phone() -> list[Shape]:
    body = box(0.29, 0.06, 0.71, 0.94, 0.08)
    shapes: list[Shape] = [(body, INK), (box(0.35, 0.16, 0.65, 0.46, 0.02), PALE)]
    for row in range(3):
        for col in range(3):
            shapes.append((disc(0.395 + col * 0.105, 0.56 + row * 0.1, 0.035), WHITE))
    shapes.append((box(0.44, 0.095, 0.56, 0.115, 0.01), WHITE))  # the earpiece
    return shapes


def _person(cx: float, scale: float, colour: Colour) -> list[Shape]:
    head = disc(cx, 0.5 - 0.22 * scale, 0.15 * scale)
    body = box(cx - 0.28 * scale, 0.5, cx + 0.28 * scale, 0.5 + 0.5 * scale, 0.2 * scale)
    return [(grow(head, 0.03), WHITE), (head, colour), (grow(body, 0.03), WHITE), (body, colour)]


def person() -> list[Shape]:
    return _person(0.5, 0.82, BLUE)


def people() -> list[Shape]:
    return [*_person(0.66, 0.7, INK), *_person(0.36, 0.8, BLUE)]


def pill() -> list[Shape]:
    shell = capsule(0.27, 0.73, 0.73, 0.27, 0.17)
    d = 1 / math.sqrt(2)
    return [
        (grow(shell, 0.035), INK),
        (shell, WHITE),
        (half(shell, -d, d), BLUE),  # the lower-left half coloured
        (lambda x, y: max(shell(x, y), abs((x - 0.5) - (y - 0.5)) * d - 0.018), INK),
    ]


PICTOGRAMS: dict[str, Callable[[], list[Shape]]] = {
    "calendar": calendar,
    "person": person,
    "pill": pill,
    "phone": phone,
    "people": people,
}


def _pixel(shapes: list[Shape], px: int, py: int) -> bytes:
    r = g = b = 0
    for i in range(SAMPLES):
        for j in range(SAMPLES):
            x = (px + (i + 0.5) / SAMPLES) / SIZE
            y = (py + (j + 0.5) / SAMPLES) / SIZE
            colour = WHITE
            for f, c in shapes:
                if f(x, y) <= 0:
                    colour = c
            r, g, b = r + colour[0], g + colour[1], b + colour[2]
    n = SAMPLES * SAMPLES
    return bytes(((r + n // 2) // n, (g + n // 2) // n, (b + n // 2) // n))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(shapes: list[Shape]) -> bytes:
    """The shapes drawn on white as an 8-bit RGB PNG of SIZE x SIZE pixels."""
    rows = b"".join(
        b"\x00" + b"".join(_pixel(shapes, px, py) for px in range(SIZE)) for py in range(SIZE)
    )
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


@cache
def pictogram(name: str) -> bytes:
    """One pictogram's PNG bytes (drawn once per run)."""
    return png(PICTOGRAMS[name]())


if __name__ == "__main__":  # write them out to look at: python pictograms.py DIR
    import sys
    from pathlib import Path

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for key in PICTOGRAMS:
        (out / f"{key}.png").write_bytes(pictogram(key))
        print(out / f"{key}.png")
