"""A bulk write (a batch's letters) flushes to disk while it goes on, and the flushing thread
never outlives the write: not after commit, not after a failure."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from recall.outputs import OutputSet
from recall.outputs.flusher import BackgroundFlush

pytestmark = pytest.mark.skipif(not hasattr(os, "sync"), reason="no os.sync on this system")


def flushers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "recall-flush"]


def test_a_bulk_write_flushes_while_writing_and_stops_at_commit(tmp_path: Path) -> None:
    out = OutputSet(tmp_path / "letters", "batch-1", bulk=True)
    with out:
        for n in range(3):
            out.put(f"letter-{n}.docx", b"x" * 1000)
            assert len(flushers()) == 1
        written = out.commit()
    assert not flushers()
    assert sorted(p.name for p in written) == [f"letter-{n}.docx" for n in range(3)]
    assert all(p.read_bytes() == b"x" * 1000 for p in written)


def test_the_flusher_stops_when_a_bulk_write_fails(tmp_path: Path) -> None:
    out = OutputSet(tmp_path / "letters", "batch-1", bulk=True)
    with pytest.raises(RuntimeError), out:
        out.put("letter-1.docx", b"x")
        assert len(flushers()) == 1
        raise RuntimeError("a letter could not be filled in")
    assert not flushers()
    assert not (tmp_path / "letters").exists()


def test_a_single_file_write_starts_no_flusher(tmp_path: Path) -> None:
    with OutputSet(tmp_path, "worksheet") as out:
        out.put("worksheet.csv", b"a,b\r\n")
        assert not flushers()
        out.commit()


def test_the_flusher_syncs_until_stopped() -> None:
    flush = BackgroundFlush(every=0.01)
    flush.start()
    assert flush.running
    flush.stop()
    assert not flush.running and not flushers()


def test_the_flusher_stops_when_the_set_ends_with_nothing_staged(tmp_path: Path) -> None:
    """The one file's write failed and the caller went on without committing: nothing is
    staged, and the set ends without an error, but the flusher still stops with it."""
    with OutputSet(tmp_path / "letters", "batch-1", bulk=True) as out:
        with pytest.raises(RuntimeError), out.open("letter-1.docx") as fh:
            fh.write(b"x")
            raise RuntimeError("a letter could not be filled in")
        assert len(flushers()) == 1
    assert not flushers()
