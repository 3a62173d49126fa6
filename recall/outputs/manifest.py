"""Which files in a folder recall wrote, and for what: `.recall-files.json` in that folder.

A file counts as recall's only while it is the very file recall wrote, unchanged (same device,
inode, size and modification time: a file someone edited, saved over it or put in its place is
theirs, even when the file system reuses the inode number). Each entry names its owner
("batch-12", "worksheet", ...) so a re-run removes only its own leftovers. An entry may hold
two identities while a write is being committed, so a run killed between writing the
manifest and renaming its files still recognises either file as its own next time.
A missing or damaged manifest means "recall wrote nothing here": the safe side.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".recall-files.json"
FileId = tuple[int, ...]


def file_id(st: os.stat_result) -> FileId:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class Entry:
    owner: str
    ids: list[FileId] = field(default_factory=list)


@dataclass
class Manifest:
    entries: dict[str, Entry] = field(default_factory=dict)

    def owns(self, name: str, st: os.stat_result) -> Entry | None:
        """The entry if the file at `name` is one recall wrote. A short id (device, inode)
        marks a file recall appends to (a log): its size and time change, it stays recall's."""
        entry = self.entries.get(name)
        if entry is None:
            return None
        full = file_id(st)
        if any(full[: len(known)] == known for known in entry.ids):
            return entry
        return None

    def add(self, name: str, owner: str, fid: FileId) -> None:
        entry = self.entries.get(name)
        if entry is None or entry.owner != owner:
            entry = self.entries[name] = Entry(owner, list(entry.ids) if entry else [])
        if fid not in entry.ids:
            entry.ids.append(fid)

    def settle(self, name: str, fid: FileId) -> None:
        """After the rename: only the file now at `name` is recall's."""
        if name in self.entries:
            self.entries[name].ids = [fid]

    def owned_by(self, owner: str) -> list[str]:
        return [n for n, e in self.entries.items() if e.owner == owner]

    def to_json(self) -> bytes:
        # json writes the id tuples as arrays: no per-file copy (a batch has ~2,000 files)
        files = {n: {"owner": e.owner, "ids": e.ids} for n, e in self.entries.items()}
        return json.dumps({"version": 1, "files": files}, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw.decode("utf-8"))
            files = data["files"]
            entries = {
                str(name): Entry(
                    str(e["owner"]), [tuple(int(x) for x in i) for i in e.get("ids", [])]
                )
                for name, e in files.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls()
        return cls(entries)


def read_manifest(dir_fd: int | None, folder: Path) -> Manifest:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        if dir_fd is not None:
            fd = os.open(MANIFEST, flags, dir_fd=dir_fd)
        else:
            fd = os.open(folder / MANIFEST, flags)
    except OSError:
        return Manifest()
    with os.fdopen(fd, "rb") as fh:
        return Manifest.from_json(fh.read(8 * 1024 * 1024))


@contextlib.contextmanager
def folder_lock(dir_fd: int | None) -> Iterator[None]:
    """Serialise manifest updates between processes writing into one folder (POSIX)."""
    if dir_fd is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
    except OSError:  # a file system without locks: carry on unlocked
        yield
        return
    try:
        yield
    finally:
        fcntl.flock(dir_fd, fcntl.LOCK_UN)
