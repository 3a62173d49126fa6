"""A minimal ZIP writer for .docx packages that reuses already-compressed parts.

A letter differs from its template only in word/document.xml, so the other parts (styles,
theme, fonts: most of the bytes) are deflated once per batch and copied into every letter
as they are. The standard library's zipfile would compress them again for each letter.
Entries carry a fixed timestamp, so rendering the same batch twice gives the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

DEFLATED = 8
STORED = 0
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_DOS_TIME = 0
_LIMIT = 0xFFFFFFFF


@dataclass(frozen=True)
class ZipMember:
    """One package part, ready to write: its compressed bytes, CRC and sizes."""

    name: str
    crc: int
    size: int
    data: bytes
    method: int = DEFLATED


def deflate(name: str, raw: bytes, level: int = 6) -> ZipMember:
    """Compress one part (raw deflate, as ZIP stores it)."""
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    data = comp.compress(raw) + comp.flush()
    return ZipMember(name, zlib.crc32(raw) & _LIMIT, len(raw), data, DEFLATED)


def write_zip(fh: BinaryIO, members: Iterable[ZipMember]) -> None:
    """Write a complete ZIP archive of `members` to `fh` (no ZIP64: parts stay under 4 GB)."""
    central: list[bytes] = []
    offset = 0
    count = 0
    for m in members:
        name = m.name.encode("utf-8")
        flags = 0x800 if not m.name.isascii() else 0
        if m.size >= _LIMIT or len(m.data) >= _LIMIT or offset >= _LIMIT:
            raise ValueError("letter package too large for a .docx file")
        local = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            flags,
            m.method,
            _DOS_TIME,
            _DOS_DATE,
            m.crc,
            len(m.data),
            m.size,
            len(name),
            0,
        )
        fh.write(local)
        fh.write(name)
        fh.write(m.data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                flags,
                m.method,
                _DOS_TIME,
                _DOS_DATE,
                m.crc,
                len(m.data),
                m.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
        offset += len(local) + len(name) + len(m.data)
        count += 1
    directory = b"".join(central)
    fh.write(directory)
    fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), offset, 0))
