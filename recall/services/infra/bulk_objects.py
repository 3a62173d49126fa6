"""Pausing Python's cycle collector while a pass builds many small acyclic objects.

A PCA pass, a backfill plan or a batch's fact sets create hundreds of thousands of small
sets, tuples and frozen dataclasses; a batch's letters, thousands of template contexts.
Left running, the cycle collector rescans that growing
heap again and again and takes up to a third of the pass's time. Those objects form no
cycles (reference counting frees them); anything else is collected once it resumes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Within the block the cycle collector does not run; it is restored as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
