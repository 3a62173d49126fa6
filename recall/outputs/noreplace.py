"""Rename without replacing, in one system call where the system has one (Linux renameat2).

Putting a new file in place must fail if something appeared at that name meanwhile. The
portable way is a hard link then unlinking the temp name: two directory changes per file.
Linux's renameat2(RENAME_NOREPLACE) does it in one, which matters for a batch's thousands of
letters. Elsewhere (or on a filesystem without it) `rename_noreplace` says it could not.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable
from typing import Any

_RENAME_NOREPLACE = 1
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}


def _load() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: Any = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # C library without renameat2 (glibc < 2.28, musl)
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_RENAMEAT2 = _load()


def rename_noreplace(src: str, dst: str, dir_fd: int) -> bool:
    """Rename `src` to `dst` inside the folder open as `dir_fd` unless `dst` exists.

    True when done; False when this system cannot do it in one call (use another way);
    FileExistsError when `dst` exists; OSError for any other failure."""
    global _RENAMEAT2
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(dir_fd, os.fsencode(src), dir_fd, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        _RENAMEAT2 = None  # e.g. a network share: the portable way from now on
        return False
    raise OSError(err, os.strerror(err), dst)
