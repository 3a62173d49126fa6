"""The UK Primary Care SNOMED release as NHS England publishes it: RF2 simple refset files.

A cluster's members are the rows of `der2_Refset_Simple…` with its refset id whose latest
version is active (`active` = 1); member terms come from the release's description file
(`sct2_Description…`). A Snapshot file is used when the release has one, else Full, else
Delta. Every file is checked whole before anything is returned: a malformed row is one error
naming the file, line and column, so the caller writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recall.domain.codes import verhoeff_valid
from recall.importers.problems import ImportFileError

REFSET_HEADER = ("id", "effectiveTime", "active", "moduleId", "refsetId", "referencedComponentId")
DESCRIPTION_HEADER = (
    "id",
    "effectiveTime",
    "active",
    "moduleId",
    "conceptId",
    "languageCode",
    "typeId",
    "term",
    "caseSignificanceId",
)
_SCTID = re.compile(r"^\d{6,18}$")
_TIME = re.compile(r"^\d{8}$")
_KINDS = ("Snapshot", "Full", "Delta")
_SEMANTIC_TAG = re.compile(r"\s\([a-z /-]+\)$")


class ReleaseError(ImportFileError):
    """A release file that cannot be read; the message names file, line and column."""

    def __init__(self, file: str, message: str, line: int | None = None, column: str = "") -> None:
        super().__init__(file, message, line)
        where = f"{file} line {line}" if line else file
        if column:
            where += f", column {column}"
        self.args = (f"{where}: {message}",)
        self.column = column


@dataclass
class Release:
    """Active members of the wanted refsets, with a term per member where the release has one."""

    folder: str
    members: dict[str, dict[str, str]] = field(default_factory=dict)  # refset -> code -> term
    refset_files: list[str] = field(default_factory=list)
    description_files: list[str] = field(default_factory=list)


def _rows(path: Path, header: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of a tab-separated RF2 file after checking its header."""
    name = path.name
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            first = fh.readline().rstrip("\r\n").lstrip("\ufeff")
            if tuple(first.split("\t")) != header:
                raise ReleaseError(
                    name,
                    f"is not an RF2 file: the header must be {' '.join(header)} (tab-separated)",
                    1,
                )
            for line, raw in enumerate(fh, 2):
                text = raw.rstrip("\r\n")
                if not text:
                    continue
                cells = text.split("\t")
                if len(cells) != len(header):
                    raise ReleaseError(
                        name,
                        f"has {len(cells)} fields, expected {len(header)} (tab-separated)",
                        line,
                    )
                yield line, cells
    except UnicodeDecodeError:
        raise ReleaseError(name, "is not UTF-8 text (an RF2 release file is UTF-8)") from None


def _check_id(name: str, line: int, column: str, value: str) -> None:
    if not _SCTID.match(value) or not verhoeff_valid(value):
        raise ReleaseError(name, f"{value!r} is not a SNOMED CT identifier", line, column)


def _latest(
    path: Path, wanted: Collection[str] | None, into: dict[str, tuple[str, bool, str, str]]
) -> None:
    """Fold one refset file into `into`: member row id -> (time, active, refset, component)."""
    name = path.name
    for line, cells in _rows(path, REFSET_HEADER):
        row_id, time, active, _module, refset, component = cells
        if not _TIME.match(time):
            raise ReleaseError(name, f"{time!r} is not a date (YYYYMMDD)", line, "effectiveTime")
        if active not in ("0", "1"):
            raise ReleaseError(name, f"{active!r} must be 0 or 1", line, "active")
        _check_id(name, line, "refsetId", refset)
        _check_id(name, line, "referencedComponentId", component)
        if wanted is not None and refset not in wanted:
            continue
        seen = into.get(row_id)
        if seen is None or time >= seen[0]:
            into[row_id] = (time, active == "1", refset, component)


def _pick(files: list[Path]) -> list[Path]:
    """The files of the most complete kind present: Snapshot, else Full, else Delta."""
    for kind in _KINDS:
        chosen = [p for p in files if kind in p.name]
        if chosen:
            return sorted(chosen)
    return sorted(files)


def read_refset_file(path: Path, wanted: Collection[str] | None = None) -> dict[str, set[str]]:
    """Active members per refset id of one simple refset file (every refset if `wanted` is None)."""
    latest: dict[str, tuple[str, bool, str, str]] = {}
    _latest(path, wanted, latest)
    out: dict[str, set[str]] = {}
    for _time, active, refset, component in latest.values():
        if active:
            out.setdefault(refset, set()).add(component)
    return out


def looks_like_refset_file(path: Path) -> bool:
    """True when the file starts with the RF2 simple refset header."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            first = fh.readline().rstrip("\r\n").lstrip("\ufeff")
    except OSError:
        return False
    return tuple(first.split("\t")) == REFSET_HEADER


def _terms(paths: list[Path], concepts: set[str]) -> dict[str, str]:
    """A readable term per concept: active descriptions, preferring one without a tag."""
    latest: dict[str, tuple[str, bool, str, str]] = {}
    for path in paths:
        name = path.name
        for line, cells in _rows(path, DESCRIPTION_HEADER):
            desc_id, time, active, _module, concept = cells[:5]
            term = cells[7]
            if not _TIME.match(time):
                raise ReleaseError(
                    name, f"{time!r} is not a date (YYYYMMDD)", line, "effectiveTime"
                )
            if concept not in concepts:
                continue
            seen = latest.get(desc_id)
            if seen is None or time >= seen[0]:
                latest[desc_id] = (time, active == "1", concept, term)
    out: dict[str, str] = {}
    for _time, live, concept, term in sorted(latest.values()):
        if not live:
            continue
        tagged = bool(_SEMANTIC_TAG.search(term))
        if concept not in out or (_SEMANTIC_TAG.search(out[concept]) and not tagged):
            out[concept] = term
    return out


def read_release(folder: Path, wanted: Collection[str]) -> Release:
    """Members (with terms) of the `wanted` refset ids in a release folder (searched deeply)."""
    if not folder.is_dir():
        raise ReleaseError(folder.name or str(folder), "is not a folder")
    files = [p for p in folder.rglob("*.txt") if p.is_file()]
    refsets = _pick([p for p in files if p.name.startswith("der2_Refset_Simple")])
    if not refsets:
        raise ReleaseError(
            folder.name,
            "holds no RF2 simple refset file (der2_Refset_Simple…txt): give the unzipped "
            "UK Primary Care SNOMED release folder",
        )
    descriptions = _pick([p for p in files if p.name.startswith("sct2_Description")])
    latest: dict[str, tuple[str, bool, str, str]] = {}
    for path in refsets:
        _latest(path, set(wanted), latest)
    members: dict[str, set[str]] = {}
    for _time, active, refset, component in latest.values():
        if active:
            members.setdefault(refset, set()).add(component)
    concepts = {c for codes in members.values() for c in codes}
    terms = _terms(descriptions, concepts) if concepts else {}
    return Release(
        folder=folder.name,
        members={
            refset: {c: terms.get(c, "") for c in sorted(codes)}
            for refset, codes in members.items()
        },
        refset_files=[p.name for p in refsets],
        description_files=[p.name for p in descriptions],
    )
