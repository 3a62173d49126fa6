"""Configuring codes: readiness listing, cluster import, record/stage codes, enable/disable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from recall.cli import main
from recall.services.codes import (
    codes_report,
    disable_condition,
    enable_condition,
    import_cluster,
    set_record_code,
    set_stage_code,
)
from recall.services.errors import NotFound, RecallError, Refused
from recall.services.settings import get_settings
from recall.store.db import Database
from recall.store.models import audit_log_t, codelist_entry_t

AF_OWN = "1110851000000100"
GENERIC = "1109921000000106"
HYP_OWN = "1110941000000107"


def af_file(tmp_path: Path, header: str = "code,term") -> Path:
    path = tmp_path / "afib.csv"
    path.write_text(
        f"{header}\n{GENERIC},QOF generic invite\n{AF_OWN},QOF atrial fibrillation invite\n"
        "711411000000101,Atrial fibrillation monitoring invitation\n",
        encoding="utf-8",
    )
    return path


def by_key(db: Database) -> dict[str, object]:
    return {c.key: c for c in codes_report(db).conditions}


def test_every_condition_listed_with_reason_and_fix(db: Database) -> None:
    report = codes_report(db)
    keys = [c.key for c in report.conditions]
    assert {"AF", "HF", "HYP", "DM", "AST", "COPD", "CHD", "STIA", "DEM", "MH", "DEPR"} <= set(keys)
    assert set(report.ready) | set(report.blocked) == set(keys)
    for c in report.conditions:
        assert c.status and c.reason
        assert c.ready or c.fix, c.key
    conds = {c.key: c for c in report.conditions}
    assert conds["HYP"].ready and conds["HYP"].record_code == HYP_OWN
    assert not conds["AF"].ready and conds["AF"].status == "provisional"
    assert "AFIBINVITE_COD" in conds["AF"].fix
    assert conds["STIA"].status == "needs_code_list" and "STIAINVITE_COD" in conds["STIA"].fix
    assert [s.code for s in report.stage_codes] == ["XabEf", "XabEh", "XabEj"]


def test_import_official_cluster_replaces_provisional(db: Database, tmp_path: Path) -> None:
    result = import_cluster(db, "AFIBINVITE_COD", af_file(tmp_path))
    assert (result.cluster, result.role, result.conditions, result.codes) == (
        "AFIBINVITE_COD",
        "invite",
        ["AF"],
        3,
    )
    af = result.after[0]
    assert af.ready and af.source == "imported" and af.status == "ready"
    # importing again replaces, never duplicates
    again = import_cluster(db, "af", af_file(tmp_path, "id,name"))
    assert again.replaced == 3
    with db.read() as s:
        rows = s.execute(select(codelist_entry_t.c.code)).all()
        actions = [a for (a,) in s.execute(select(audit_log_t.c.action))]
    assert len(rows) == 3
    assert actions.count("codes.import") == 2


def test_condition_without_cluster_uses_the_fix_text_name(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "pad.csv"
    path.write_text("code,term\nPAD01,Local PAD review invite\n", encoding="utf-8")
    result = import_cluster(db, "PAD", path)
    assert result.conditions == ["PAD"] and result.codes == 1
    pad = result.after[0]
    assert pad.source == "imported" and pad.status == "needs_record_code"
    view = set_record_code(db, "PAD", "PAD01")
    assert view.ready, view.reason


def test_import_refuses_bad_files(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(f"code,term\n{AF_OWN},ok\n1110851000000101,typo\n", encoding="utf-8")
    with pytest.raises(Refused, match="line 3"):
        import_cluster(db, "AF", bad)
    generic_only = tmp_path / "g.csv"
    generic_only.write_text(f"code,term\n{GENERIC},generic\n", encoding="utf-8")
    with pytest.raises(Refused, match="only the generic"):
        import_cluster(db, "AF", generic_only)
    with pytest.raises(NotFound, match="unknown cluster"):
        import_cluster(db, "NOPE_COD", af_file(tmp_path))
    with db.read() as s:
        assert s.execute(select(codelist_entry_t.c.id)).first() is None


def test_review_cluster_import(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "rev.csv"
    path.write_text("code,term\n270442000,Asthma monitoring check done\n", encoding="utf-8")
    result = import_cluster(db, "REV_COD", path)
    assert result.role == "review" and result.conditions == ["AST"]
    assert by_key(db)["AST"].review_codes == 1  # type: ignore[attr-defined]


def test_set_record_code_rules(db: Database) -> None:
    with pytest.raises(Refused, match="generic QOF invite code"):
        set_record_code(db, "HYP", GENERIC)
    with pytest.raises(Refused, match="is not in HYPINVITE_COD"):
        set_record_code(db, "HYP", AF_OWN)
    with pytest.raises(Refused, match="no invite code list"):
        set_record_code(db, "CHD", AF_OWN)
    with pytest.raises(NotFound):
        set_record_code(db, "XYZ", AF_OWN)
    view = set_record_code(db, "HYP", "1066961000000103", stage=2)
    assert view.ready and view.record_code_by_stage == {2: "1066961000000103"}
    with db.read() as s:
        assert get_settings(s).conditions["HYP"].record_code_by_stage == {"2": "1066961000000103"}


def test_enable_disable(db: Database) -> None:
    with pytest.raises(Refused, match="--provisional"):
        enable_condition(db, "AF")
    view = enable_condition(db, "AF", provisional=True)
    assert view.ready and view.status == "provisional"
    assert "not verified" in view.reason
    off = disable_condition(db, "HYP")
    assert not off.ready and off.status == "off"
    assert enable_condition(db, "HYP").ready
    with pytest.raises(Refused, match="cannot be turned on"):
        enable_condition(db, "CHD")


def test_stage_codes_for_emis(db: Database) -> None:
    from recall.services.settings import save_settings

    with db.write() as s:
        settings = get_settings(s)
        settings.clinical_system = "emis"
        save_settings(s, settings, operator="t")
    assert by_key(db)["HYP"].status == "needs_stage_codes"  # type: ignore[attr-defined]
    for n, code in ((1, "STAGE1"), (2, "STAGE2"), (3, "STAGE3")):
        set_stage_code(db, n, code, f"LTC invitation {n}")
    assert by_key(db)["HYP"].ready  # type: ignore[attr-defined]
    with pytest.raises(Refused, match="already the stage 1 code"):
        set_stage_code(db, 2, "STAGE1", "x")
    with pytest.raises(Refused, match="generic"):
        set_stage_code(db, 1, GENERIC, "x")
    with pytest.raises(RecallError, match="--term"):
        set_stage_code(db, 1, "STAGE1", "")


def test_cli_codes(sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_db.url
    assert main(["codes", "--db", url]) == 0
    out = capsys.readouterr().out
    for key in ("AF", "HYP", "STIA", "CHD"):
        assert f"\n{key} " in out
    assert "blocked" in out and "ready" in out and "fix: " in out
    assert main(["codes", "--json", "--db", url]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {c["key"] for c in data["conditions"]} >= {"AF", "HYP"}
    assert all("ready" in c and "reason" in c and "fix" in c for c in data["conditions"])
    path = af_file(tmp_path, '"SNOMED code","SNOMED code description"')
    assert main(["codes", "import", "AFIBINVITE_COD", str(path), "--db", url]) == 0
    assert "AFIBINVITE_COD: 3 codes imported" in capsys.readouterr().out
    assert main(["codes", "set", "AF", GENERIC, "--db", url]) == 2
    assert "generic" in capsys.readouterr().err
    assert main(["codes", "set", "AF", "711411000000101", "--stage", "1", "--db", url]) == 0
    assert "stage 1: 711411000000101" in capsys.readouterr().out
    assert main(["codes", "disable", "AF", "--db", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "off"
    assert main(["codes", "stage", "1", "XabEf", "--term", "LTC first letter", "--db", url]) == 0


def test_codes_lists_every_condition_with_invite_care_qof_and_fix(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["codes", "--json", "--db", sqlite_db.url]) == 0
    conditions = json.loads(capsys.readouterr().out)["conditions"]
    assert main(["codes", "--db", sqlite_db.url]) == 0
    out = capsys.readouterr().out
    blocks: dict[str, list[str]] = {}
    for text in out.splitlines():
        if text[:1].isalpha() and text.split()[0] in {c["key"] for c in conditions}:
            blocks[text.split()[0]] = [text]
        elif text.startswith("      ") and blocks:
            list(blocks.values())[-1].append(text.strip())
    assert set(blocks) == {c["key"] for c in conditions}
    for c in conditions:
        lines = blocks[c["key"]]
        assert any(x.startswith("invite list: ") for x in lines), c["key"]
        assert any(x.startswith("care: ") for x in lines), c["key"]
        assert any(x.startswith(f"QOF {c['qof_year']}: ") for x in lines), c["key"]
        if not c["ready"]:
            assert any(x.startswith("fix: ") for x in lines), c["key"]
    assert "invite list: HYPINVITE_COD: 14 codes (shipped)" in blocks["HYP"]
    assert any("no QOF code is needed" in x for x in blocks["DEPR"])
    assert any("recall codes import CHADVASC_COD FILE" in x for x in blocks["AF"])
