"""Never invent a clinical code: every code and refset id under data/ is from a published list.

Every CSV under data/codelists/ is a copy named in its SOURCES.md; every long SNOMED-style id
in the TOML data (record codes, refset ids) must be a member of a shipped list or named in
SOURCES.md. When the shared reference folder is present, each CSV must equal its original.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from recall.resources import data_dir

REFERENCE = Path("/work/shared/reference/codelists")
SNOMED_ID = re.compile(r"(?<![\d.])\d{9,18}(?![\d.])")


def _csvs() -> list[Path]:
    return sorted((data_dir() / "codelists").rglob("*.csv"))


def _members() -> set[str]:
    out: set[str] = set()
    for path in _csvs():
        with path.open(encoding="utf-8") as fh:
            out |= {row["code"] for row in csv.DictReader(fh)}
    return out


def test_every_shipped_list_is_named_in_sources() -> None:
    sources = (data_dir() / "codelists" / "SOURCES.md").read_text(encoding="utf-8")
    for path in _csvs():
        assert path.name in sources, path


def _mapping_ids() -> set[str]:
    """Refset ids of the published QOF ruleset mapping shipped in data/qof/."""
    with (data_dir() / "qof" / "ruleset-clusters-2022.csv").open(encoding="utf-8") as fh:
        return {row["pcd_refset_id"] for row in csv.DictReader(fh)}


def test_every_id_in_the_toml_data_is_published() -> None:
    known = _members() | _mapping_ids()
    sources = (data_dir() / "codelists" / "SOURCES.md").read_text(encoding="utf-8")
    for path in sorted(data_dir().rglob("*.toml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.split("#", 1)[0]
            for code in SNOMED_ID.findall(text):
                assert code in known or code in sources, f"{path.name}: {code}"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the shared reference folder is not here")
def test_shipped_lists_are_byte_copies_of_the_reference() -> None:
    base = data_dir() / "codelists"
    for path in _csvs():
        original = REFERENCE / path.relative_to(base)
        assert original.is_file(), path
        assert path.read_bytes() == original.read_bytes(), path


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the shared reference folder is not here")
def test_shipped_ruleset_mapping_is_a_copy_of_the_reference() -> None:
    shipped = data_dir() / "qof" / "ruleset-clusters-2022.csv"
    assert shipped.read_bytes() == (REFERENCE.parent / "qof-ruleset-clusters-2022.csv").read_bytes()
