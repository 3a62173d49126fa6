"""Writing files safely: temp file in the target folder, fsync, rename; never over a stranger.

Every file is first written whole to a hidden temp file beside its target (mode 0600, opened
without following links) and synced; only then is it renamed into place. A full disk, a
crash or a bad letter therefore leaves the previous file at that path untouched, and the temp
file is removed on any failure (one left by a killed run is removed by the next run into that
folder). An existing file is replaced only when the manifest says this owner wrote it, or with
`force`; a link, a database or a backup is never replaced. Folders recall creates are 0700; a
folder that already existed keeps its mode. Operations go through the open folder's
descriptor, so swapping the folder for a link half-way does not redirect a write.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from recall.outputs.errors import OutputError, OutputRefused
from recall.outputs.flusher import BackgroundFlush
from recall.outputs.guard import Protected, lstat_in, refusal, resolved_folder
from recall.outputs.manifest import (
    MANIFEST,
    FileId,
    Manifest,
    file_id,
    folder_lock,
    read_manifest,
)
from recall.outputs.noreplace import rename_noreplace

FILE_MODE = 0o600
FOLDER_MODE = 0o700
STALE_TEMP_SECONDS = 3600
_TEMP = re.compile(r"^\.(?P<name>.+)\.recall-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FD = os.name == "posix" and {os.open, os.rename, os.unlink, os.stat} <= os.supports_dir_fd


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def private_folder(path: Path) -> list[Path]:
    """Make `path` a folder, creating it and any missing parents 0700 (whatever the umask).

    An existing folder is left exactly as it is (never chmod-ed). Returns the folders created,
    outermost first. Refuses a link or a file where the folder should be.
    """
    path = Path(os.path.abspath(path))
    missing: list[Path] = []
    p = path
    while True:
        try:
            st = os.lstat(p)
        except NotADirectoryError:
            raise OutputRefused(path, "a folder above it is a file") from None
        except FileNotFoundError:
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
            continue
        except OSError as exc:
            raise OutputError(p, f"cannot use this folder ({_why(exc)})") from None
        if p == path and stat.S_ISLNK(st.st_mode):
            raise OutputRefused(p, "is a symbolic link: recall does not write through links")
        mode = st.st_mode
        if stat.S_ISLNK(mode):  # a link above the folder (e.g. /tmp on macOS) is followed
            try:
                mode = os.stat(p).st_mode
            except OSError:
                raise OutputRefused(p, "is a symbolic link to nothing") from None
        if not stat.S_ISDIR(mode):
            raise OutputRefused(p, "is not a folder")
        break
    created: list[Path] = []
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            continue  # another terminal made it at the same moment
        except OSError as exc:
            raise OutputError(folder, f"cannot create the folder ({_why(exc)})") from None
        os.chmod(folder, FOLDER_MODE)
        created.append(folder)
    return created


class _Folder:
    """One output folder, opened once: every operation is relative to its descriptor."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        if _DIR_FD:
            flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
            try:
                self.fd = os.open(path, flags)
            except OSError as exc:
                if os.path.islink(path):
                    raise OutputRefused(
                        path, "is a symbolic link: recall does not write through links"
                    ) from None
                raise OutputError(path, f"cannot open the folder ({_why(exc)})") from None

    def open_new(self, name: str) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        flags |= getattr(os, "O_BINARY", 0)
        if self.fd is not None:
            return os.open(name, flags, FILE_MODE, dir_fd=self.fd)
        return os.open(self.path / name, flags, FILE_MODE)

    def lstat(self, name: str) -> os.stat_result | None:
        return lstat_in(name, self.fd, self.path)

    def replace(self, src: str, dst: str) -> None:
        if self.fd is not None:
            os.replace(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        else:
            os.replace(self.path / src, self.path / dst)

    def place_new(self, src: str, dst: str) -> None:
        """Rename `src` to `dst` only if nothing appeared at `dst` meanwhile."""
        try:
            if self.fd is not None and rename_noreplace(src, dst, self.fd):
                return
            if self.fd is not None:
                os.link(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
            else:
                os.link(self.path / src, self.path / dst, follow_symlinks=False)
        except FileExistsError:
            raise OutputRefused(self.path / dst, "appeared while recall was writing it") from None
        except (NotImplementedError, OSError):  # no hard links here (e.g. some shares)
            if self.lstat(dst) is not None:
                raise OutputRefused(
                    self.path / dst, "appeared while recall was writing it"
                ) from None
            self.replace(src, dst)
            return
        self.unlink(src)

    def unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.fd is not None:
                os.unlink(name, dir_fd=self.fd)
            else:
                os.unlink(self.path / name)

    def names(self) -> list[str]:
        try:
            return os.listdir(self.fd if self.fd is not None else self.path)
        except OSError:
            return []

    def listing(self) -> frozenset[str] | None:
        """Every name in the folder now; None if it cannot be listed (then ask name by name)."""
        try:
            return frozenset(os.listdir(self.fd if self.fd is not None else self.path))
        except OSError:
            return None

    def sync(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self.fd)

    def write_manifest(self, manifest: Manifest) -> None:
        tmp = _temp_name(MANIFEST)
        fd = self.open_new(tmp)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(manifest.to_json())
                fh.flush()
                os.fsync(fh.fileno())
            self.replace(tmp, MANIFEST)
        except BaseException:
            self.unlink(tmp)
            raise

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _temp_name(name: str) -> str:
    return f".{name}.recall-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _stale_temp(name: str, folder: _Folder) -> bool:
    """A temp file left by a recall process that died (never one still writing)."""
    m = _TEMP.match(name)
    if m is None:
        return False
    pid = int(m["pid"])
    if pid == os.getpid():
        return False
    if os.name == "posix":
        try:
            os.kill(pid, 0)  # signal 0 only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    st = folder.lstat(name)
    return st is not None and time.time() - st.st_mtime > STALE_TEMP_SECONDS


class OutputSet:
    """Files written into one folder for one owner, replaced together at `commit`.

    `owner` says what the files are for ("batch-12", "worksheet"): a file is replaced only if
    the manifest says this owner wrote it (or `force`). With `remove_stale`, files this owner
    wrote before and did not write this time are removed at commit (a patient taken out of
    the batch); nothing else in the folder is ever touched. The folder is created (0700) at
    the first write; `abort` removes every temp file and any folder this set created.
    """

    def __init__(
        self,
        folder: Path,
        owner: str,
        *,
        force: bool = False,
        protected: Protected | None = None,
        remove_stale: bool = False,
        replace: bool = True,
        bulk: bool = False,
    ) -> None:
        self.path = Path(os.path.abspath(folder))
        # Many files (a batch's letters): one system-wide sync before the renames instead of
        # one fsync per file, which would halve the letters' speed. Same guarantee.
        self.bulk = bulk and hasattr(os, "sync")
        self._flush = BackgroundFlush()  # bulk: letters reach the disk while more are made
        self._manifest: Manifest | None = None
        self._resolved: Path | None = None
        self.owner = owner
        self.force = force
        self.protected = protected or Protected()
        self.remove_stale = remove_stale
        self.replace = replace
        self._folder: _Folder | None = None
        self._created: list[Path] = []
        self._staged: dict[str, tuple[str, FileId]] = {}
        self._cleared: set[str] = set()  # passed `check`: open() need not look again
        self.written: list[Path] = []

    # -- checks ----------------------------------------------------------------------------
    def check(self, names: Iterable[str]) -> None:
        """Refuse now (writing nothing) if any of `names` could not be written.

        Names that pass are not looked at again when opened; `commit` checks every name
        once more, under the folder's lock, before anything is put in place."""
        names = list(names)
        if self._folder is None:
            st = _lstat_path(self.path)
            if st is None:
                self._cleared.update(names)
                return  # a new folder: every name is free
            if stat.S_ISLNK(st.st_mode):
                raise OutputRefused(
                    self.path, "is a symbolic link: recall does not write through links"
                )
            if not stat.S_ISDIR(st.st_mode):
                raise OutputRefused(self.path, "is not a folder")
            folder = _Folder(self.path)
            try:
                manifest = read_manifest(folder.fd, self.path)
                present = folder.listing()
                for name in names:
                    self._check(folder, manifest, name, present)
            finally:
                folder.close()
        else:
            manifest = read_manifest(self._folder.fd, self.path)
            present = self._folder.listing()
            for name in names:
                self._check(self._folder, manifest, name, present)
        self._cleared.update(names)

    def _check(
        self,
        folder: _Folder,
        manifest: Manifest,
        name: str,
        present: frozenset[str] | None = None,
    ) -> os.stat_result | None:
        """Why `name` may not be written (raised), else what is there now (None: nothing).

        `present`: the folder's names listed just before (under its lock), so a name not in
        it needs no lstat. A file appearing after the listing is still never replaced: the
        caller puts a name that had nothing there in place without replacing (place_new)."""
        if not name or "/" in name or "\\" in name or name in (".", "..", MANIFEST):
            raise OutputRefused(self.path / name, "is not a file name recall may write")
        st = folder.lstat(name) if present is None or name in present else None
        if self._resolved is None:
            self._resolved = resolved_folder(self.path)
        why = refusal(
            name,
            st,
            folder=self.path,
            dir_fd=folder.fd,
            protected=self.protected,
            resolved=self._resolved,
        )
        if why is not None:
            raise OutputRefused(self.path / name, why)
        if st is None:
            return None
        if not self.replace:
            raise OutputRefused(self.path / name, "already exists: choose a new file name")
        entry = manifest.owns(name, st)
        if entry is not None and entry.owner == self.owner:
            return st
        if self.force:
            return st
        if entry is not None:
            raise OutputRefused(
                self.path / name,
                f"was written by recall for {entry.owner}, not {self.owner}: not replaced "
                "(choose another name or folder, or --force to replace it)",
            )
        raise OutputRefused(
            self.path / name,
            "already exists and recall did not write it: not replaced "
            "(choose another name, or --force to replace it)",
        )

    # -- writing ---------------------------------------------------------------------------
    def _open_folder(self) -> _Folder:
        if self._folder is None:
            self._created = private_folder(self.path)
            self._folder = _Folder(self.path)
        return self._folder

    def _known(self, folder: _Folder) -> Manifest:
        """The manifest as it was when this set started (read again, locked, at commit)."""
        if self._manifest is None:
            self._manifest = read_manifest(folder.fd, self.path)
        return self._manifest

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """A file to write `name` into; it is kept (staged) only if the block succeeds."""
        folder = self._open_folder()
        if name not in self._cleared:
            self._check(folder, self._known(folder), name)
        if self.bulk:
            self._flush.start()
        tmp = _temp_name(name)
        try:
            fd = folder.open_new(tmp)
        except OSError as exc:
            raise OutputError(self.path / name, f"cannot write ({_why(exc)})") from None
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as fh:
                yield fh
                fh.flush()
                if not self.bulk:
                    os.fsync(fh.fileno())
                fid = file_id(os.fstat(fh.fileno()))
        except OSError as exc:
            folder.unlink(tmp)
            raise OutputError(self.path / name, f"cannot write ({_why(exc)})") from None
        except BaseException:
            folder.unlink(tmp)
            raise
        old = self._staged.pop(name, None)
        if old is not None:
            folder.unlink(old[0])
        self._staged[name] = (tmp, fid)

    def put(self, name: str, data: bytes) -> None:
        with self.open(name) as fh:
            fh.write(data)

    @contextlib.contextmanager
    def open_path(self, name: str) -> Iterator[Path]:
        """An empty private temp file's path, for tools that need a path (SQLite's backup)."""
        folder = self._open_folder()
        self._check(folder, self._known(folder), name)
        tmp = _temp_name(name)
        try:
            os.close(folder.open_new(tmp))
            yield self.path / tmp
            flags = os.O_RDONLY | _NOFOLLOW | _CLOEXEC
            fd = (
                os.open(tmp, flags, dir_fd=folder.fd)
                if folder.fd is not None
                else os.open(self.path / tmp, flags)
            )
            try:
                os.fsync(fd)
                fid = file_id(os.fstat(fd))
            finally:
                os.close(fd)
        except OSError as exc:
            folder.unlink(tmp)
            raise OutputError(self.path / name, f"cannot write ({_why(exc)})") from None
        except BaseException:
            folder.unlink(tmp)
            raise
        self._staged[name] = (tmp, fid)

    def commit(self) -> list[Path]:
        """Put every staged file in place; returns their paths."""
        folder = self._open_folder()
        try:
            self._flush.stop()
            if self.bulk and self._staged:
                os.sync()  # every temp file's data is on disk before any rename
            with folder_lock(folder.fd):
                manifest = read_manifest(folder.fd, self.path)
                present = folder.listing()
                existing = {n: self._check(folder, manifest, n, present) for n in self._staged}
                for name, (_tmp, fid) in self._staged.items():
                    manifest.add(name, self.owner, fid)
                folder.write_manifest(manifest)
                for name, (tmp, fid) in self._staged.items():
                    if existing[name] is None:
                        folder.place_new(tmp, name)
                    else:
                        folder.replace(tmp, name)
                    manifest.settle(name, fid)
                    self.written.append(self.path / name)
                done = set(self._staged)
                self._staged.clear()
                if self.remove_stale:
                    self._remove_stale(folder, manifest, done)
                folder.write_manifest(manifest)
                for name in folder.names():
                    if _stale_temp(name, folder):
                        folder.unlink(name)
                folder.sync()
        except OSError as exc:
            self.abort()
            raise OutputError(self.path, f"cannot write ({_why(exc)})") from None
        except BaseException:
            self.abort()
            raise
        finally:
            folder.close()
            self._folder = None
        return self.written

    def _remove_stale(self, folder: _Folder, manifest: Manifest, done: set[str]) -> None:
        for name in manifest.owned_by(self.owner):
            if name in done:
                continue
            st = folder.lstat(name)
            if st is not None and manifest.owns(name, st) is not None:
                folder.unlink(name)
            manifest.entries.pop(name, None)

    def abort(self) -> None:
        """Remove every staged temp file and the folders this set created (if still empty)."""
        self._flush.stop()
        folder = self._folder
        if folder is not None:
            for tmp, _fid in self._staged.values():
                folder.unlink(tmp)
            folder.close()
            self._folder = None
        self._staged.clear()
        for created in reversed(self._created):
            with contextlib.suppress(OSError):
                os.rmdir(created)
        self._created = []

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._flush.stop()  # never outlives the set, even one that ends with nothing staged
        if exc_type is not None or self._staged:
            self.abort()


def _lstat_path(path: Path) -> os.stat_result | None:
    """lstat, or None when nothing is there (or a folder above it is a file)."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def write_file(
    path: Path,
    data: bytes | Callable[[BinaryIO], None],
    *,
    owner: str,
    force: bool = False,
    protected: Protected | None = None,
    replace: bool = True,
) -> Path:
    """Write one file through an `OutputSet` (bytes, or a function writing to a file)."""
    path = Path(os.path.abspath(path))
    with OutputSet(path.parent, owner, force=force, protected=protected, replace=replace) as out:
        with out.open(path.name) as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                data(fh)
        out.commit()
    return path


def open_append(
    path: Path, *, owner: str = "log", adopt: bool = False, protected: Protected | None = None
) -> int:
    """A descriptor to append to `path` (a log): created 0600, never through a link, never
    onto a file recall did not create (`adopt`: take over one in recall's own folder)."""
    path = Path(os.path.abspath(path))
    private_folder(path.parent)
    folder = _Folder(path.parent)
    try:
        with folder_lock(folder.fd):
            manifest = read_manifest(folder.fd, path.parent)
            st = folder.lstat(path.name)
            guard = protected or Protected()
            why = refusal(path.name, st, folder=path.parent, dir_fd=folder.fd, protected=guard)
            if why is not None:
                raise OutputRefused(path, why)
            if st is not None and manifest.owns(path.name, st) is None and not adopt:
                raise OutputRefused(path, "exists and recall did not create it: not appended to")
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW | _CLOEXEC
            try:
                if folder.fd is not None:
                    fd = os.open(path.name, flags, FILE_MODE, dir_fd=folder.fd)
                else:
                    fd = os.open(path, flags, FILE_MODE)
            except OSError as exc:
                raise OutputError(path, f"cannot write ({_why(exc)})") from None
            if hasattr(os, "fchmod"):
                os.fchmod(fd, FILE_MODE)
            now = os.fstat(fd)
            if manifest.owns(path.name, now) is None:
                manifest.add(path.name, owner, (now.st_dev, now.st_ino))
                manifest.settle(path.name, (now.st_dev, now.st_ino))
                folder.write_manifest(manifest)
            return fd
    finally:
        folder.close()
