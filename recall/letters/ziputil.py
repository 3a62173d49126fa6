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


def _local_header(name: bytes, flags: int, method: int, crc: int, csize: int, size: int) -> bytes:
    return struct.pack(
        "<IHHHHHIIIHH",
        0x04034B50,
        20,
        flags,
        method,
        _DOS_TIME,
        _DOS_DATE,
        crc,
        csize,
        size,
        len(name),
        0,
    )


def _central_head(m: ZipMember, flags: int, name_len: int, csize: int) -> bytes:
    """A central-directory record up to (not including) its local-header offset."""
    return struct.pack(
        "<IHHHHHHIIIHHHHHI",
        0x02014B50,
        20,
        20,
        flags,
        m.method,
        _DOS_TIME,
        _DOS_DATE,
        m.crc,
        csize,
        m.size,
        name_len,
        0,
        0,
        0,
        0,
        0,
    )


@dataclass(frozen=True)
class PackedRun:
    """Members that are always written together, prepared once per template: their local
    entries as one block of bytes and each central record split around its offset."""

    blob: bytes
    records: tuple[tuple[bytes, int, bytes], ...]  # (record up to the offset, offset, name)


def pack_run(members: Iterable[ZipMember]) -> PackedRun:
    """Prepare `members` (in order) for `ZipWriter.add_run`."""
    blob = bytearray()
    records = []
    for m in members:
        name = m.name.encode("utf-8")
        flags = 0x800 if not m.name.isascii() else 0
        csize = len(m.data)
        if m.size >= _LIMIT or csize >= _LIMIT:
            raise ValueError("letter package too large for a .docx file")
        head = _central_head(m, flags, len(name), csize)
        records.append((head, len(blob), name))
        blob += _local_header(name, flags, m.method, m.crc, csize, m.size) + name + m.data
    return PackedRun(bytes(blob), tuple(records))


class ZipWriter:
    """Writes a ZIP archive member by member; one member may be streamed (`begin`/`write`/
    `end`), so a print file of thousands of letters never sits in memory whole. The stream
    must be seekable: a streamed member's sizes are written back into its header."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.offset = 0
        self.central: list[bytes] = []
        self._open: tuple[str, int, int] | None = None  # name, header offset, flags
        self._comp: zlib._Compress | None = None
        self._crc = 0
        self._size = 0
        self._csize = 0

    def _entry(self, m: ZipMember, name: bytes, flags: int, at: int, csize: int) -> None:
        if m.size >= _LIMIT or csize >= _LIMIT or at >= _LIMIT:
            raise ValueError("letter package too large for a .docx file")
        self.central.append(
            _central_head(m, flags, len(name), csize)
            + struct.pack("<I", at)
            + name
        )

    def add(self, m: ZipMember) -> None:
        """One member whose compressed bytes are ready."""
        name = m.name.encode("utf-8")
        flags = 0x800 if not m.name.isascii() else 0
        self._entry(m, name, flags, self.offset, len(m.data))
        local = _local_header(name, flags, m.method, m.crc, len(m.data), m.size)
        self.fh.write(local)
        self.fh.write(name)
        self.fh.write(m.data)
        self.offset += len(local) + len(name) + len(m.data)

    def add_run(self, run: PackedRun) -> None:
        """Members prepared by `pack_run`, written in one go."""
        if self.offset + len(run.blob) >= _LIMIT:
            raise ValueError("letter package too large for a .docx file")
        for head, at, name in run.records:
            self.central.append(head + struct.pack("<I", self.offset + at) + name)
        self.fh.write(run.blob)
        self.offset += len(run.blob)

    def begin(self, member_name: str, level: int = 6) -> None:
        """Start a streamed member: its header now, its sizes when it ends."""
        name = member_name.encode("utf-8")
        flags = 0x800 if not member_name.isascii() else 0
        self._open = (member_name, self.offset, flags)
        local = _local_header(name, flags, DEFLATED, 0, 0, 0)
        self.fh.write(local)
        self.fh.write(name)
        self.offset += len(local) + len(name)
        self._comp = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._crc = self._size = self._csize = 0

    def write(self, raw: bytes) -> None:
        assert self._comp is not None, "begin() first"
        self._crc = zlib.crc32(raw, self._crc)
        self._size += len(raw)
        data = self._comp.compress(raw)
        if data:
            self.fh.write(data)
            self._csize += len(data)

    def end(self) -> None:
        assert self._comp is not None and self._open is not None, "begin() first"
        tail = self._comp.flush()
        self.fh.write(tail)
        self._csize += len(tail)
        member_name, at, flags = self._open
        name = member_name.encode("utf-8")
        crc = self._crc & _LIMIT
        m = ZipMember(member_name, crc, self._size, b"", DEFLATED)
        self._entry(m, name, flags, at, self._csize)
        here = self.fh.tell()
        self.fh.seek(at)
        self.fh.write(_local_header(name, flags, DEFLATED, crc, self._csize, self._size))
        self.fh.seek(here)
        self.offset += self._csize
        self._comp = None
        self._open = None

    def close(self) -> None:
        """Write the central directory: the archive is complete."""
        directory = b"".join(self.central)
        count = len(self.central)
        self.fh.write(directory)
        self.fh.write(
            struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), self.offset, 0)
        )


def write_zip(fh: BinaryIO, members: Iterable[ZipMember]) -> None:
    """Write a complete ZIP archive of `members` to `fh` (no ZIP64: parts stay under 4 GB)."""
    writer = ZipWriter(fh)
    for m in members:
        writer.add(m)
    writer.close()
