"""What an output may replace: never a link, a database, a backup or a file it did not make.

The database file and its -wal/-shm/-journal companions are named by the caller; any file
that *looks* like a database (SQLite header, pg_dump archive) is refused as well, so a backup
or another practice's database is safe too, whatever its name. These refusals hold even with
`--force`, which only allows replacing an ordinary file someone else made.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
COMPANIONS = ("-wal", "-shm", "-journal")


def resolved_folder(folder: Path) -> Path:
    """The folder with any links in it resolved (to compare with the database's path)."""
    try:
        return Path(os.path.abspath(folder)).resolve()
    except OSError:
        return Path(os.path.abspath(folder))


def _canonical(path: Path) -> Path:
    """The path with its folder resolved (links above it followed), its own name kept."""
    path = Path(os.path.abspath(path))
    try:
        return path.parent.resolve() / path.name
    except OSError:
        return path


@dataclass(frozen=True)
class Protected:
    """Files no output may ever be written over: the open database and its companions."""

    files: tuple[Path, ...] = ()

    @classmethod
    def database(cls, path: Path | None) -> Protected:
        if path is None:
            return cls()
        main = _canonical(path)
        return cls((main, *(main.with_name(main.name + s) for s in COMPANIONS)))

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.files)

    def covers(
        self, target: Path, st: os.stat_result | None, *, folder: Path | None = None
    ) -> bool:
        """Whether `target` is one of these files (`folder`: its folder, already resolved)."""
        if not self.files or (st is None and target.name not in self.names):
            return False  # nothing there: only the very path could match, and its name differs
        where = folder / target.name if folder is not None else _canonical(target)
        for f in self.files:
            if where == f:
                return True
            if st is None:
                continue
            try:
                known = os.stat(f)
            except OSError:
                continue
            if (known.st_dev, known.st_ino) == (st.st_dev, st.st_ino):
                return True
        return False


def _head(name: str, dir_fd: int | None, folder: Path) -> bytes:
    """The first bytes of a regular file (without following a link); b"" if unreadable."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        if dir_fd is not None:
            fd = os.open(name, flags, dir_fd=dir_fd)
        else:
            fd = os.open(folder / name, flags)
    except OSError:
        return b""
    try:
        return os.read(fd, len(SQLITE_MAGIC))
    except OSError:
        return b""
    finally:
        os.close(fd)


def looks_like_database(
    name: str, dir_fd: int | None, folder: Path, *, exists: bool = True
) -> bool:
    """A SQLite database or pg_dump archive, or the -wal/-shm/-journal of a SQLite file."""
    if exists:
        head = _head(name, dir_fd, folder)
        if head.startswith(SQLITE_MAGIC) or head.startswith(PG_DUMP_MAGIC):
            return True
    for suffix in COMPANIONS:
        stem = name[: -len(suffix)]
        if name.endswith(suffix) and stem and _head(stem, dir_fd, folder).startswith(SQLITE_MAGIC):
            return True
    return False


def lstat_in(name: str, dir_fd: int | None, folder: Path) -> os.stat_result | None:
    """lstat of `name` in the folder (never following a link); None when nothing is there."""
    try:
        if dir_fd is not None:
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return os.lstat(folder / name)
    except (FileNotFoundError, NotADirectoryError):
        return None


def refusal(
    name: str,
    st: os.stat_result | None,
    *,
    folder: Path,
    dir_fd: int | None,
    protected: Protected,
    resolved: Path | None = None,
) -> str | None:
    """Why `name` in `folder` may never be written, whatever --force says; None if it may.

    `resolved`: the folder with its links resolved, when the caller knows it already."""
    if (st is not None or name in protected.names) and protected.covers(
        folder / name, st, folder=resolved
    ):
        return "that is the database itself: never written over"
    if st is None:
        if looks_like_database(name, dir_fd, folder, exists=False):
            return "that name belongs to a database: never written over"
        return None
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link: recall does not write through links"
    if not stat.S_ISREG(st.st_mode):
        return "exists and is not an ordinary file"
    if looks_like_database(name, dir_fd, folder):
        return "is a database or a database backup: never written over"
    return None
