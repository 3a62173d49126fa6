"""Writing a batch's files to disk while they are still being made.

A bulk write (a batch's letters) syncs once before its renames instead of once per file.
Left alone, that one sync has to write every letter at the end, while the user waits: a few
hundredths of a second on an SSD, most of a second for a big batch on a practice PC's hard
disk. This thread asks the system to sync every so often while the letters are rendered, so
the final sync finds little left to write. It only starts writes early: the guarantee is still
the final sync before any rename (see writer.OutputSet.commit).
"""

from __future__ import annotations

import contextlib
import os
import threading

EVERY_SECONDS = 0.25


class BackgroundFlush:
    """One daemon thread calling os.sync() every `every` seconds until `stop()`."""

    def __init__(self, every: float = EVERY_SECONDS) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None or not hasattr(os, "sync"):
            return
        self._thread = threading.Thread(target=self._run, name="recall-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(OSError):
                os.sync()

    def stop(self) -> None:
        """Stop and wait for the thread (at most one sync in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
