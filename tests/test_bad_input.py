"""Malformed import files: a clear error or a clean import, never a crash or a partial write.

Hypothesis builds CSV files from a valid canonical (or SystmOne / EMIS style) export and
breaks them: other encodings, missing or doubled columns, bad dates and NHS numbers, huge
fields, formula-like cells, broken quoting, stray bytes. Every file goes through the real
import service. The oracle: either the import succeeds, or it raises a RecallError whose
message is one line naming the file (and the line and column when the problem is in a row),
and then no table changed at all. FILES_PER_IMPORTER (RECALL_BAD_INPUT_FILES, default 250 on
SQLite) files go to each of the patients, registers and events importers and to the code
cluster importer; PostgreSQL gets a smaller sample of the same generator.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from stress_support import TODAY, nhs_numbers, row_counts, seed, write_practice

from recall.domain.text import find_control
from recall.services.codes import import_cluster
from recall.services.errors import RecallError
from recall.services.imports import ImportRefused, import_file
from recall.store.db import Database
from recall.store.models import event_t, patient_t

FILES = int(os.environ.get("RECALL_BAD_INPUT_FILES", "250"))
PG_FILES = max(FILES // 6, 20)  # the same generator, a smaller sample
SEEDED = 20

HEADERS = {
    "canonical": {
        "patients": [
            "nhs_number",
            "family_name",
            "given_name",
            "date_of_birth",
            "postcode",
            "mobile",
            "recall_month",
            "communication_needs",
            "registered_on",
        ],
        "registers": ["nhs_number", "condition", "diagnosed_on"],
        "events": ["nhs_number", "date", "code", "term"],
        "codelist": ["cluster", "code", "term"],
    },
    "systmone": {
        "patients": [
            "NHS number",
            "Surname",
            "First name",
            "Date of birth",
            "Postcode",
            "Mobile telephone",
            "Recall month",
            "Communication needs",
            "Registration date",
        ],
        "registers": ["NHS number", "Condition", "Date of diagnosis"],
        "events": ["NHS number", "Event date", "Code", "Term"],
        "codelist": ["Cluster_ID", "SNOMED_code", "SNOMED_code_description"],
    },
}
REQUIRED = {
    "patients": {0, 1, 2, 3},
    "registers": {0, 1},
    "events": {0, 1, 2},
    "codelist": {1},
}
FORMULAS = [
    '=HYPERLINK("http://x.example","click")',
    "+SUM(A1:A9)",
    "-2+3",
    "@cmd",
    "\t=1+1",
    "=cmd|' /C calc'!A0",
    "\r=1",
]
BAD_DATES = [
    "31/02/2020",
    "2020-13-01",
    "12/31/2020",
    "tomorrow",
    "2020-02-30",
    "0000-00-00",
    "9999-12-31",
    "1800-01-01",
    "１２/０３/２０２０",
    "2020/01/01",
    "1/1/20",
    "20201301",
    "32-Jan-2020",
    "2020-1-1T00:00",
    "NaN",
    "1e9",
]
GOOD_DATES = ["1950-11-03", "03/11/1950", "19501103", "03-Nov-1950", "2026-04-01", "01/04/2026"]
BAD_NHS = [
    "9434765918",
    "943476591",
    "94347659190",
    "ABCDEFGHIJ",
    "943-476-591",
    "0000000000",
    "943 476 5919 1",
    "９４３４７６５９１９",
    "٩٤٣٤٧٦٥٩١٩",
    "943476591\u00b9",
    "",
    "9434765919.0",
    "=9434765919",
]
HOSTILE_TEXT = [
    "Smith\x1b[2J",
    "\x1b]52;c;ZXZpbA==\x07",
    "Smi\x00th",
    "Jo\x01nes",
    "Ann\u202eeoJ",
    "[bold red]x",
    "Zo\x85e",
]
CONDITIONS = ["HYP", "DM", "AST", "hyp", "Hypertension", "AF", "XYZ", "", "=HYP", "HYP;DM"]
CODES = [
    "1110941000000107",
    "XabEf",
    "Y1f8f",
    "38341003",
    "",
    "x" * 25,
    "=1+1",
    "12 34",
    "1.11092E+15",
    "1109921000000106.0",
    "XabEf\x00",
]
CLUSTER_CODES = [
    "1110941000000107",
    "1109921000000106",
    "185719002",
    "1110941000000108",
    "XaF0.",
    "",
    "x" * 25,
    "=1+1",
    "12 34",
    "00000",
    "-185719002",
]
CLUSTERS = ["HYPINVITE_COD", "hyp invite cod", "DMINVITE_COD", "", "=HYPINVITE_COD"]
MUTATIONS = [
    "none",
    "drop_required",
    "duplicate_column",
    "no_header",
    "empty",
    "header_only",
    "bom",
    "utf16",
    "latin1",
    "cp1252",
    "nul",
    "semicolons",
    "cr_only",
    "unbalanced_quote",
    "huge_field",
    "extra_fields",
    "short_row",
    "emis_preamble",
    "random_bytes",
    "truncate",
    "xlsx_magic",
    "blank_lines",
    "many_columns",
]


def _cell(draw: Any, kind: str, col: int, existing: list[str], fresh: list[str]) -> str:
    name = HEADERS["canonical"][kind][col]
    choice = draw(st.integers(0, 9))
    if name == "nhs_number":
        pool = existing if kind != "patients" else fresh + existing
        if choice < 7:
            return draw(st.sampled_from(pool))
        return draw(st.sampled_from(BAD_NHS) | st.text(max_size=12))
    if name in ("date_of_birth", "date", "diagnosed_on", "registered_on"):
        if choice < 6:
            return draw(st.sampled_from(GOOD_DATES))
        return draw(st.sampled_from(BAD_DATES) | st.text(max_size=12))
    if name == "condition":
        return draw(st.sampled_from(CONDITIONS) if choice < 8 else st.text(max_size=8))
    if name == "code" and kind == "codelist":
        return draw(st.sampled_from(CLUSTER_CODES) if choice < 8 else st.text(max_size=30))
    if name == "code":
        return draw(st.sampled_from(CODES) if choice < 8 else st.text(max_size=30))
    if name == "cluster":
        return draw(st.sampled_from(CLUSTERS) if choice < 8 else st.text(max_size=20))
    if name == "recall_month":
        return draw(st.sampled_from(["", "1", "12", "0", "13", "May", "-1", "6.5"]))
    if name == "communication_needs":
        return draw(
            st.sampled_from(
                [
                    "",
                    "large_print",
                    "no_sms;easy_read",
                    "interpreter:",
                    "interpreter:Polish",
                    "telepathy",
                    ";;",
                ]
            )
        )
    if name == "mobile":
        return draw(st.sampled_from(["", "07700 900123", "+44 7700 900123", "12", "=1"]))
    if name == "postcode":
        return draw(st.sampled_from(["LS1 4AB", "ls14ab", "NOT A POSTCODE", "", "=A1"]))
    if choice < 5:
        return draw(st.sampled_from(["O'Brien", "Siân", "Zoë & <Co>", "Nguyễn", "Smith"]))
    if choice < 6:
        return draw(st.sampled_from(HOSTILE_TEXT))
    if choice < 7:
        return draw(st.sampled_from(FORMULAS))
    return draw(st.text(max_size=40))


@st.composite
def bad_file(draw: Any, kind: str, existing: list[str]) -> tuple[bytes, str]:
    """(file bytes, mutation) for one import of `kind`."""
    fresh = list(itertools.islice(nhs_numbers(999_500_000 + draw(st.integers(0, 10**6))), 3))
    style = draw(st.sampled_from(sorted(HEADERS)))
    header = list(HEADERS[style][kind])
    n_rows = draw(st.integers(0, 6))
    rows = [
        [_cell(draw, kind, c, existing, fresh) for c in range(len(header))] for _ in range(n_rows)
    ]
    if kind == "codelist" and draw(st.booleans()):  # OpenCodelists files have no cluster column
        header.pop(0)
        rows = [r[1:] for r in rows]
    mutation = draw(st.sampled_from(MUTATIONS))
    if mutation == "drop_required" and kind == "codelist" and len(header) == 2:
        header.pop(0)
        rows = [r[1:] for r in rows]
    elif mutation == "drop_required":
        col = draw(st.sampled_from(sorted(REQUIRED[kind])))
        header.pop(col)
        rows = [r[:col] + r[col + 1 :] for r in rows]
    elif mutation == "duplicate_column":
        col = draw(st.integers(0, len(header) - 1))
        header.append(header[col])
        rows = [[*r, draw(st.text(max_size=5))] for r in rows]
    elif mutation == "huge_field" and rows:
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(header) - 1))
        rows[r][c] = draw(st.sampled_from(["x", "9", "é", ","])) * draw(
            st.sampled_from([10_000, 200_000, 1_100_000])
        )
    elif mutation == "extra_fields" and rows:
        rows[-1] = rows[-1] + ["extra"] * draw(st.integers(1, 5))
    elif mutation == "short_row" and rows:
        rows[-1] = rows[-1][: draw(st.integers(0, max(len(rows[-1]) - 1, 0)))]
    elif mutation == "many_columns":
        header = header + [f"col{i}" for i in range(2000)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    if mutation != "no_header":
        w.writerow(header)
    if mutation != "header_only":
        w.writerows(rows)
    text = buf.getvalue()
    if mutation == "emis_preamble":
        text = "Report,LTC export\r\nLast Run,Relative Date,01-Nov-2026\r\n\r\n" + text
    elif mutation == "semicolons":
        text = text.replace(",", ";")
    elif mutation == "cr_only":
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    elif mutation == "unbalanced_quote":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + '"' + text[at:]
    elif mutation == "blank_lines":
        text = text.replace("\n", "\n\n")
    elif mutation == "empty":
        text = ""
    if mutation == "utf16":
        data = text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"])))
    elif mutation in ("latin1", "cp1252"):
        data = text.encode(mutation, errors="replace") + "Siân,Zoë\n".encode(mutation)
    elif mutation == "bom":
        data = codecs.BOM_UTF8 + text.encode()
    else:
        data = text.encode("utf-8", errors="surrogatepass")
    if mutation == "nul":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\x00" + data[at:]
    elif mutation == "random_bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
    elif mutation == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif mutation == "xlsx_magic":
        data = b"PK\x03\x04" + data
    return data, mutation


ONE_LINE = re.compile(r"^[^\n]+$")
TALLY: Counter[str] = Counter()


def check_import(db: Database, kind: str, path: Path, mutation: str) -> str:
    """Import `path`; assert the oracle; return 'clean' or 'refused'."""
    before = row_counts(db)
    try:
        if kind == "codelist":
            import_cluster(db, "HYP", path, operator="fuzz")
        else:
            import_file(db, kind, path, operator="fuzz", today=TODAY)
    except RecallError as exc:
        message = str(exc)
        assert ONE_LINE.match(message), f"{mutation}: message is not one line: {message!r}"
        assert len(message) < 2_000, f"{mutation}: message too long ({len(message)})"
        assert path.name in message, f"{mutation}: message does not name the file: {message!r}"
        if isinstance(exc, ImportRefused):  # row problems: each names its line and column
            assert exc.problems, f"{mutation}: refused without a problem list"
            first = exc.problems[0]
            assert first["file"] == path.name and first["line"].isdigit()
            if first["column"]:
                assert f"line {first['line']}, column {first['column']}" in message
        after = row_counts(db)
        assert after == before, f"{mutation}: partial write {before} -> {after}: {message}"
        TALLY[f"{kind}_refused"] += 1
        return "refused"
    assert_no_control_characters_stored(db, mutation)
    TALLY[f"{kind}_clean"] += 1
    return "clean"


def assert_no_control_characters_stored(db: Database, mutation: str) -> None:
    """A clean import stored no control character in any name, code or term."""
    with db.read() as s:
        names = s.execute(select(patient_t.c.family_name, patient_t.c.given_name)).all()
        events = s.execute(select(event_t.c.code, event_t.c.term)).all()
    for value in (v for row in [*names, *events] for v in row if v):
        assert find_control(value, allow_breaks=True) is None, f"{mutation}: stored {value!r}"


def _settings(n: int) -> Any:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@pytest.fixture
def seeded(db: Database, tmp_path: Path) -> tuple[Database, list[str]]:
    practice = write_practice(tmp_path / "seed", SEEDED)
    seed(db, practice)
    return db, list(practice.nhs)


@pytest.mark.parametrize("kind", ["patients", "registers", "events", "codelist"])
def test_malformed_files_never_crash_or_half_write(
    seeded: tuple[Database, list[str]], tmp_path: Path, kind: str
) -> None:
    db, existing = seeded
    n = FILES if db.backend == "sqlite" else PG_FILES
    counter = itertools.count()

    @_settings(n)
    @given(case=bad_file(kind, existing))
    def run(case: tuple[bytes, str]) -> None:
        data, mutation = case
        path = tmp_path / f"{kind}-{next(counter)}.csv"
        path.write_bytes(data)
        check_import(db, kind, path, mutation)
        path.unlink()

    run()
    files = next(counter)
    seen = {k: v for k, v in TALLY.items() if k.startswith(kind)}
    print(f"bad input {db.backend} {kind}: {files} files, {seen}")
    assert files >= n
    assert seen.get(f"{kind}_refused", 0) > n // 2  # the generator really makes bad files


# ----------------------------------------------------------------------------- exports

RISKY = ("=", "+", "-", "@", "\t", "\r")


def _formula_practice(folder: Path, n: int) -> tuple[Path, Path, list[str]]:
    numbers = list(itertools.islice(nhs_numbers(999_700_000), n))
    patients, registers = folder / "patients.csv", folder / "registers.csv"
    folder.mkdir(parents=True, exist_ok=True)
    with patients.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["nhs_number", "family_name", "given_name", "date_of_birth", "postcode", "mobile"]
        )
        for i, nhs in enumerate(numbers):
            mobile = f"07700 900{i:03d}" if i % 2 else ""
            w.writerow(
                [
                    nhs,
                    FORMULAS[i % len(FORMULAS)],
                    FORMULAS[(i + 3) % len(FORMULAS)],
                    "1950-11-03",
                    "LS1 4AB",
                    mobile,
                ]
            )
    with registers.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["nhs_number", "condition"])
        w.writerows([nhs, "HYP"] for nhs in numbers)
    return patients, registers, numbers


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def test_exports_escape_formula_cells_and_are_private(db: Database, tmp_path: Path) -> None:
    from recall.services.batches import confirm_batch, plan_batch
    from recall.services.letters import render_batch_letters
    from recall.services.settings import get_settings, save_settings
    from recall.services.worksheet import export_worksheet

    patients, registers, numbers = _formula_practice(tmp_path / "csv", 14)
    result = import_file(db, "patients", patients, operator="t", today=TODAY)
    assert result.added == len(numbers) and result.warning_count > 0  # formulas are flagged
    import_file(db, "registers", registers, operator="t", today=TODAY)
    with db.write() as s:
        st_ = get_settings(s)
        st_.sms_enabled = True
        save_settings(s, st_, operator="t")
    plan = plan_batch(db, 1, "2026-11", TODAY, today=TODAY)
    assert len(plan.invitations) == len(numbers)
    letters = render_batch_letters(
        db, plan.batch.id, tmp_path / "out" / "letters", today=TODAY, pdf=False
    )
    confirm_batch(db, plan.batch.id, TODAY, today=TODAY)
    sheet = export_worksheet(db, plan.batch.id, tmp_path / "out" / "worksheet.csv")

    exports = [Path(p) for p in (letters.sms_csv, letters.notify_csv) if p]
    assert letters.sms_csv and sheet.csv is not None
    exports.append(sheet.csv)
    for path in exports:
        cells = _cells(path)
        risky = [c for c in cells if c.startswith(RISKY)]
        assert risky == [], f"{path.name}: cells a spreadsheet would run: {risky[:3]}"
    sheet_cells = set(_cells(sheet.csv))
    for formula in FORMULAS:  # the importer trims cells; the text is otherwise kept
        assert "'" + formula.strip() in sheet_cells, f"worksheet lost or mangled {formula!r}"
    names_in_sms = set(_cells(Path(letters.sms_csv)))
    assert any(c.startswith("'") for c in names_in_sms)

    # everything written holds patient data: files 0600, folders 0700
    written = [Path(p) for p in letters.letters] + exports
    if letters.print_file:
        written.append(Path(letters.print_file))
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o600, f"{path.name} is not private"
    assert Path(letters.folder).stat().st_mode & 0o777 == 0o700
