"""Putting a file in place never replaces what appeared at its name (one call on Linux)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from recall.outputs.noreplace import rename_noreplace
from recall.outputs.writer import OutputSet


def _folder_fd(path: Path) -> int:
    return os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux only")
def test_rename_noreplace_moves_a_new_name_and_refuses_an_existing_one(tmp_path: Path) -> None:
    (tmp_path / "a.tmp").write_bytes(b"new")
    (tmp_path / "taken").write_bytes(b"someone else's")
    fd = _folder_fd(tmp_path)
    try:
        assert rename_noreplace("a.tmp", "free", fd) is True
        assert (tmp_path / "free").read_bytes() == b"new"
        assert not (tmp_path / "a.tmp").exists()
        (tmp_path / "b.tmp").write_bytes(b"newer")
        with pytest.raises(FileExistsError):
            rename_noreplace("b.tmp", "taken", fd)
    finally:
        os.close(fd)
    assert (tmp_path / "taken").read_bytes() == b"someone else's"
    assert (tmp_path / "b.tmp").exists()


def test_a_file_that_appears_while_writing_is_kept(tmp_path: Path) -> None:
    out = OutputSet(tmp_path / "letters", "batch-1")
    out.check(["letter-0001.docx"])
    with out:
        out.put("letter-0001.docx", b"ours")
        (tmp_path / "letters" / "letter-0001.docx").write_bytes(b"appeared")
        with pytest.raises(Exception, match=r"appeared while recall was writing it|not replaced"):
            out.commit()
    assert (tmp_path / "letters" / "letter-0001.docx").read_bytes() == b"appeared"
    left = [n for n in os.listdir(tmp_path / "letters") if n.endswith(".tmp")]
    assert left == []
