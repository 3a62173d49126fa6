"""Cluster files downloaded from OpenCodelists or the Primary Care Domain reference-set portal.

OpenCodelists writes `code,term`; other downloads say `id,name`, `conceptId,term`, or (the
reference-set portal) `Cluster_ID, ..., SNOMED_code, SNOMED_code_description`, sometimes with
several clusters in one file: then only the rows of the wanted cluster are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recall.domain.codes import EXCEL_HINT, looks_excel_mangled, verhoeff_valid
from recall.domain.text import control_message, find_control
from recall.importers.problems import ImportFileError, Problem, ProblemLog
from recall.importers.source import CsvRecords, normalise_header

CODE_HEADERS = (
    "code",
    "snomedcode",
    "snomedctcode",
    "conceptid",
    "snomedconceptid",
    "snomedctconceptid",
    "snomedid",
    "id",
    "ctv3code",
    "ctv3id",
    "readcode",
    "referencedcomponentid",
)
TERM_HEADERS = (
    "term",
    "snomedcodedescription",
    "snomeddescription",
    "snomedctdescription",
    "description",
    "name",
    "preferredterm",
    "conceptdescription",
    "codedescription",
    "fullyspecifiedname",
    "fsn",
    "ctv3description",
)
CLUSTER_HEADERS = ("clusterid", "cluster", "refsetcluster")
MAX_CODE = 20
SCAN_ROWS = 10


@dataclass
class CodelistFile:
    """The codes of one cluster file, in file order, and what was found on the way."""

    name: str
    codes: dict[str, str] = field(default_factory=dict)
    header_line: int = 0
    code_column: str = ""
    term_column: str = ""
    rows_read: int = 0
    other_clusters: set[str] = field(default_factory=set)
    problems: ProblemLog = field(default_factory=ProblemLog)


def _first(header: list[str], wanted: tuple[str, ...]) -> int | None:
    normalised = [normalise_header(h) for h in header]
    for name in wanted:
        if name in normalised:
            return normalised.index(name)
    return None


def read_codelist(path: Path, cluster: str | None = None) -> CodelistFile:
    """Read a code list; keep rows for `cluster` when the file names clusters per row."""
    with CsvRecords(path) as records:
        out = CodelistFile(records.name)
        it = iter(records)
        code_i = term_i = cluster_i = None
        header: list[str] = []
        for count, (line, cells) in enumerate(it, 1):
            code_i = _first(cells, CODE_HEADERS)
            if code_i is not None:
                header, out.header_line = cells, line
                term_i = _first(cells, TERM_HEADERS)
                cluster_i = _first(cells, CLUSTER_HEADERS)
                break
            if count >= SCAN_ROWS:
                break
        if code_i is None:
            raise ImportFileError(
                out.name,
                "no header with a code column (expected code,term or id,name or "
                "'SNOMED code', 'SNOMED code description')",
            )
        out.code_column = header[code_i].strip()
        out.term_column = header[term_i].strip() if term_i is not None else ""
        wanted = normalise_header(cluster) if cluster else ""
        for line, cells in it:
            if not any(c.strip() for c in cells):
                continue
            if cluster_i is not None and wanted and cluster_i < len(cells):
                found = cells[cluster_i].strip()
                if normalise_header(found) != wanted:
                    out.other_clusters.add(found.upper())
                    continue
            out.rows_read += 1
            raw_code = cells[code_i] if code_i < len(cells) else ""
            raw_term = cells[term_i] if term_i is not None and term_i < len(cells) else ""
            code, term = raw_code.strip(), raw_term.strip()
            column = out.code_column
            bad_code = find_control(code)
            bad_term = find_control(term)
            if bad_code is not None:
                out.problems.add(
                    Problem(out.name, line, column, code, control_message(code, bad_code))
                )
            elif bad_term is not None:
                out.problems.add(
                    Problem(out.name, line, out.term_column, term, control_message(term, bad_term))
                )
            elif looks_excel_mangled(code):
                out.problems.add(Problem(out.name, line, column, code, EXCEL_HINT))
            elif not code:
                out.problems.add(Problem(out.name, line, column, "", "is empty"))
            elif len(code) > MAX_CODE or any(ch.isspace() for ch in code):
                out.problems.add(Problem(out.name, line, column, code, "is not a clinical code"))
            elif code.isdigit() and not (6 <= len(code) <= 18 and verhoeff_valid(code)):
                out.problems.add(
                    Problem(
                        out.name,
                        line,
                        column,
                        code,
                        "is not a valid SNOMED CT identifier (its check digit is wrong)",
                    )
                )
            elif code not in out.codes:
                out.codes[code] = term[:500]
        return out
