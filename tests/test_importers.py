"""Import files as validated rows: formats seen in real exports, and clear problems."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recall.importers.codelist import read_codelist
from recall.importers.mapping import MappingError, load_mapping
from recall.importers.problems import ImportFileError
from recall.importers.records import EventRow, ImportReader, PatientRow, RegisterRow
from recall.importers.values import parse_needs

TODAY = dt.date(2026, 11, 27)
CONDITIONS = {"HYP": "HYP", "AF": "AF", "Atrial fibrillation": "AF", "DM": "DM"}


def write(tmp_path: Path, text: str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path, kind: str, mapping: str | None = None) -> tuple[list[Any], ImportReader]:
    with ImportReader(
        path,
        kind,
        load_mapping(mapping) if mapping else None,
        today=TODAY,
        conditions=CONDITIONS,
    ) as reader:
        rows = list(reader.rows())
    return rows, reader


def test_canonical_patients_with_bom_quotes_spaces_and_uk_dates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeffNHS Number,Family-Name,given_name,Date of Birth,postcode,communication_needs\r\n"
        '943 476 5919,"O\'Brien, Jr",Siân,03/11/1950,ls1 4ap,"Large print; interpreter:Polish"\r\n'
        '9876543210,"Smith & <Jones>",Zoë-Ann,1960-01-02,,no_sms\r\n',
    )
    rows, reader = read(path, "patients")
    assert not reader.problems, reader.problems.lines()
    assert reader.mapping.key == "canonical"
    first, second = rows
    assert isinstance(first, PatientRow)
    assert first.nhs_number == "9434765919"
    assert first.family_name == "O'Brien, Jr"
    assert first.date_of_birth == dt.date(1950, 11, 3)
    assert first.postcode == "LS1 4AP"
    assert first.communication_needs == "large_print;interpreter:Polish"
    assert second.family_name == "Smith & <Jones>"
    assert second.given_name == "Zoë-Ann"
    assert first.line == 2 and second.line == 3


def test_bad_row_names_physical_line_column_and_value(tmp_path: Path) -> None:
    # a quoted field with a line break: line numbers are physical lines, not records
    path = write(
        tmp_path,
        "nhs_number,family_name,given_name,date_of_birth,address_line1\n"
        '9434765919,A,B,1950-01-01,"Flat 1\nThe Mill"\n'
        "9876543210,C,D,31/02/1950,\n",
    )
    rows, reader = read(path, "patients")
    assert len(rows) == 1
    (problem,) = list(reader.problems)
    assert (problem.line, problem.column, problem.value) == (4, "date_of_birth", "31/02/1950")
    assert "line 4, column date_of_birth: '31/02/1950' is not a real date" in str(problem)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("9434765918", "check digit"),
        ("94347659", "10 digits"),
        ("9.43477E+09", "spreadsheet"),
        ("", "is empty"),
    ],
)
def test_nhs_number_problems(tmp_path: Path, cell: str, message: str) -> None:
    path = write(tmp_path, f"nhs_number,date,code\n{cell},2026-05-01,XabEf\n")
    rows, reader = read(path, "events")
    assert rows == []
    (problem,) = list(reader.problems)
    assert problem.column == "nhs_number" and message in problem.message


def test_dates_in_every_export_style(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nhs_number,date,code,term\n"
        "9434765919,2026-05-01,XabEf,\n"
        "9434765919,01/05/2026,XabEh,\n"
        "9434765919,20260502,XabEj,\n"
        "9434765919,03-May-2026,Y1f8f,\n"
        "9434765919,4 May 2026,1110941000000107,Hypertension invite\n"
        "9434765919,05/05/2026 10:30,1110921000000100,\n",
    )
    rows, reader = read(path, "events")
    assert not reader.problems
    assert [r.date.day for r in rows] == [1, 1, 2, 3, 4, 5]
    assert [r.code_system for r in rows[:2]] == ["ctv3", "ctv3"]
    assert rows[4].code_system == "snomed" and rows[4].term == "Hypertension invite"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("12/31/2025", "not a real date"),
        ("2027-01-01", "in the future"),
        ("yesterday", "not a date"),
    ],
)
def test_date_problems(tmp_path: Path, cell: str, message: str) -> None:
    path = write(tmp_path, f"nhs_number,date,code\n9434765919,{cell},XabEf\n")
    _, reader = read(path, "events")
    (problem,) = list(reader.problems)
    assert problem.column == "date" and message in problem.message


def test_future_birth_and_death_before_birth(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nhs_number,family_name,given_name,date_of_birth,date_of_death\n"
        "9434765919,A,B,2030-01-01,\n"
        "9876543210,A,B,1950-01-01,1949-01-01\n",
    )
    _, reader = read(path, "patients")
    assert [(p.line, p.column) for p in reader.problems] == [
        (2, "date_of_birth"),
        (3, "date_of_death"),
    ]


def test_emis_preamble_fill_down_and_dd_mon_yyyy(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '"Last Run","Relative Date","03-Nov-2026"\n'
        '"Report","LTC invites"\n'
        "\n"
        '"NHS Number","Effective Date","SNOMED Code","Term"\n'
        '"943 476 5919","03-Nov-2026","1110941000000107","QOF hypertension invite"\n'
        '"","10-Nov-2026","1110921000000100","QOF diabetes invite"\n',
    )
    rows, reader = read(path, "events", "emis")
    assert not reader.problems, reader.problems.lines()
    assert reader.header_line == 4
    assert [(r.nhs_number, r.date, r.line) for r in rows] == [
        ("9434765919", dt.date(2026, 11, 3), 5),
        ("9434765919", dt.date(2026, 11, 10), 6),
    ]


def test_mapping_detected_without_flag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "NHS number,Surname,First name,Date of birth,Postcode,Sex\n"
        "9434765919,Ní Bhriain,Áine,19501103,BT1 1AA,F\n",
    )
    rows, reader = read(path, "patients")
    assert not reader.problems
    assert reader.mapping.key in ("systmone", "emis")  # both name these columns
    assert rows[0].family_name == "Ní Bhriain" and rows[0].date_of_birth.year == 1950


def test_blank_nhs_is_not_filled_down_without_a_real_emis_report(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "NHS Number,Effective Date,SNOMED Code\n9434765919,01/05/2026,XabEf\n,02/05/2026,XabEh\n",
    )
    _, reader = read(path, "events")
    assert [(p.line, p.column) for p in reader.problems] == [(3, "nhs_number")]


def test_missing_required_column_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "nhs_number,family_name\n9434765919,A\n")
    with pytest.raises(
        ImportFileError, match=r"line 1: required columns given_name, date_of_birth"
    ):
        read(path, "patients")


def test_no_header_row(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(ImportFileError, match="no header row with an NHS number"):
        read(path, "events")


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nhs_number,family_name,given_name,date_of_birth\n"
        "9434765919,A,B,1950-01-01\n"
        "9876543210,Müller,B,1950-01-01\n",
        encoding="cp1252",
    )
    with pytest.raises(ImportFileError, match=r"line 3: is not UTF-8 text \(byte 0xfc\)"):
        read(path, "patients")


def test_utf16_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, "\ufeffnhs_number,date,code\n9434765919,2026-05-01,XabEf\n", encoding="utf-16"
    )
    rows, reader = read(path, "events")
    assert len(rows) == 1 and not reader.problems


def test_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"PK\x03\x04rest-of-a-zip")
    with pytest.raises(ImportFileError, match="Excel workbook"):
        read(path, "events")


def test_huge_cell_and_formula_cells(tmp_path: Path) -> None:
    big = "x" * 5000
    path = write(
        tmp_path,
        "nhs_number,family_name,given_name,date_of_birth\n"
        f"9434765919,{big},B,1950-01-01\n"
        '9876543210,"=HYPERLINK(""http://x"")",B,1950-01-01\n',
    )
    rows, reader = read(path, "patients")
    (problem,) = list(reader.problems)
    assert problem.line == 2 and "too long" in problem.message
    assert len(str(problem)) < 200  # the value is shortened in the message
    assert rows[0].family_name.startswith("=HYPERLINK")  # kept as text
    (warning,) = list(reader.warnings)
    assert warning.line == 3 and "formula" in warning.message


def test_unclosed_quote_is_a_file_error_or_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nhs_number,date,code\n9434765919,2026-05-01,XabEf\n"
        + '9434765919,"2026-05-02,XabEh\n' * 3,
    )
    # strict quoting: the quote opened on line 3 closes on line 4 mid-field
    with pytest.raises(ImportFileError, match=r"line 4: a quoted field has more text"):
        read(path, "events")


def test_postcode_and_needs_and_recall_month(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nhs_number,family_name,given_name,date_of_birth,postcode,recall_month,communication_needs\n"
        "9434765919,A,B,1950-01-01,BFPO 123,Nov,easy-read\n"
        "9876543210,A,B,1950-01-01,SW1A 1AA,13,\n"
        "4010232137,A,B,1950-01-01,,,telepathy\n",
    )
    rows, reader = read(path, "patients")
    assert rows[0].postcode == "BFPO 123" and rows[0].recall_month == 11
    assert rows[0].communication_needs == "easy_read"
    assert [w.column for w in reader.warnings] == ["postcode"]
    assert [(p.line, p.column) for p in reader.problems] == [
        (3, "recall_month"),
        (4, "communication_needs"),
    ]


def test_registers_condition_keys_and_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nhs_number,condition,diagnosed_on,resolved_on\n"
        "9434765919,hyp,2001-01-01,\n"
        "9434765919,Atrial Fibrillation,,\n"
        "9434765919,GOUT,,\n"
        "9876543210,DM,2020-01-01,2019-01-01\n",
    )
    rows, reader = read(path, "registers")
    assert [(r.condition, r.diagnosed_on) for r in rows if isinstance(r, RegisterRow)] == [
        ("HYP", dt.date(2001, 1, 1)),
        ("AF", None),
    ]
    assert [(p.line, p.column) for p in reader.problems] == [(4, "condition"), (5, "resolved_on")]
    assert "use AF, DM, HYP" in next(iter(reader.problems)).message


def test_only_first_50_problems_kept(tmp_path: Path) -> None:
    body = "".join(f"9434765919,2026-13-{i % 28 + 1:02d},X\n" for i in range(120))
    path = write(tmp_path, "nhs_number,date,code\n" + body)
    _, reader = read(path, "events")
    assert reader.problems.count == 120
    lines = reader.problems.lines()
    assert len(lines) == 51 and lines[-1] == "and 70 more"


def test_needs_parser() -> None:
    assert parse_needs("Large Print;no-sms; interpreter: British Sign Language") == (
        "large_print;no_sms;interpreter:British Sign Language"
    )
    with pytest.raises(ValueError):
        parse_needs("interpreter")


def test_unknown_mapping_lists_choices(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="canonical, emis, systmone"):
        load_mapping("vision")
    own = tmp_path / "ours.toml"
    own.write_text('[columns.events]\ncode = ["Our Code"]\ndate = "When"\n')
    mapping = load_mapping(str(own))
    path = write(tmp_path, "nhs_number,When,Our Code\n9434765919,2026-01-02,ABC12\n")
    rows, _ = read(path, "events", str(own))
    assert mapping.key == "ours" and isinstance(rows[0], EventRow) and rows[0].code == "ABC12"


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("code,term", "1110851000000100,AF invite"),
        ("id,name", "1110851000000100,AF invite"),
        ("conceptId,term", "1110851000000100,AF invite"),
        ('"SNOMED code","SNOMED code description"', "1110851000000100,AF invite"),
        (
            "Cluster_ID\tSNOMED_code\tSNOMED_code_description",
            "AFIBINVITE_COD\t1110851000000100\tAF invite",
        ),
    ],
)
def test_codelist_header_spellings(tmp_path: Path, header: str, row: str) -> None:
    path = write(tmp_path, f"{header}\n{row}\n")
    result = read_codelist(path, "AFIBINVITE_COD")
    assert result.codes == {"1110851000000100": "AF invite"}
    assert not result.problems


def test_codelist_filters_cluster_and_checks_snomed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Cluster_ID,SNOMED_code,SNOMED_code_description\n"
        "AFIBINVITE_COD,1110851000000100,AF invite\n"
        "HFINVITE_COD,1110931000000103,HF invite\n"
        "AFIBINVITE_COD,1110851000000101,typo\n",
    )
    result = read_codelist(path, "afibinvite_cod")
    assert list(result.codes) == ["1110851000000100"]
    assert result.other_clusters == {"HFINVITE_COD"}
    (problem,) = list(result.problems)
    assert problem.line == 4 and "check digit" in problem.message


def test_runaway_field_is_a_clear_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, 'nhs_number,date,code\n9434765919,2026-05-01,"' + "x" * 200_000 + "\n")
    with pytest.raises(ImportFileError, match=r"line 2: a quote .*never closed"):
        read(path, "events")


def test_file_level_problem_without_a_line_reads_cleanly(tmp_path: Path) -> None:
    from recall.importers.problems import Problem

    assert str(Problem("x.csv", 0, "", "", "is an Excel workbook")) == "x.csv: is an Excel workbook"


@given(day=st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_every_supported_date_style_round_trips(day: dt.date) -> None:
    from recall.importers.values import CellParser

    cells = CellParser()
    styles = (
        day.isoformat(),
        day.strftime("%d/%m/%Y"),
        f"{day.day}/{day.month}/{day.year}",
        day.strftime("%Y%m%d"),
        day.strftime("%d-%b-%Y"),
        day.strftime("%d %B %Y"),
        day.strftime("%d/%m/%Y") + " 09:30",
    )
    for text in styles:
        assert cells.date(text) == day, text


@given(text=st.text(max_size=30))
def test_date_parser_never_crashes(text: str) -> None:
    from recall.importers.values import CellParser

    try:
        CellParser().date(text)
    except ValueError as exc:
        assert str(exc).startswith("is not")
