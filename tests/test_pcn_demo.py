"""The demo PCN: four fictional practices (two SystmOne, two EMIS) of different sizes, the
same for one seed, each with its own patients and its own clinical system's codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from recall.cli import main
from recall.domain.nhs import is_valid_nhs_number
from recall.services.catalogue import load_catalogue
from recall.services.demo import build_demo
from recall.services.errors import RecallError
from recall.store.db import Database
from recall.store.models import event_t, patient_t, practice_t

TODAY = dt.date(2026, 11, 27)


def _practices(db: Database) -> list[tuple[int, str, str]]:
    with db.read() as s:
        rows = s.execute(
            select(practice_t.c.id, practice_t.c.ods_code, practice_t.c.name).order_by(
                practice_t.c.ods_code
            )
        )
        return [(int(i), str(o), str(n)) for i, o, n in rows]


def _fingerprint(db: Database) -> list[tuple[object, ...]]:
    with db.read() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(
                    practice_t.c.ods_code,
                    patient_t.c.nhs_number,
                    patient_t.c.family_name,
                    event_t.c.date,
                    event_t.c.code,
                )
                .join(patient_t, patient_t.c.practice_id == practice_t.c.id)
                .join(event_t, event_t.c.patient_id == patient_t.c.id)
                .order_by(practice_t.c.ods_code, patient_t.c.nhs_number, event_t.c.date)
            )
        ]


def test_demo_pcn_has_four_practices_each_with_its_own_system(db: Database) -> None:
    result = build_demo(db, patients=1600, seed=4, today=TODAY, pcn=True)
    assert [p.clinical_system for p in result.practices] == ["systmone", "emis"] * 2
    sizes = [p.patients for p in result.practices]
    assert sum(sizes) == result.patients == 1600 and len(set(sizes)) == 4
    practices = _practices(db)
    assert [ods for _, ods, _ in practices] == [p.ods_code for p in result.practices]
    assert all(name for _, _, name in practices)
    seen: set[str] = set()
    with db.read() as s:
        for (pid, _ods, _name), built in zip(practices, result.practices, strict=True):
            catalogue = load_catalogue(s, pid)
            assert catalogue.profile.key == built.clinical_system
            stage = {sc.code for sc in catalogue.profile.stage_codes.values()}
            assert len(stage) == 3
            assert catalogue.conditions["HYP"].readiness(catalogue.profile).ready
            numbers = set(
                s.scalars(select(patient_t.c.nhs_number).where(patient_t.c.practice_id == pid))
            )
            assert len(numbers) == built.patients
            assert all(n.startswith("999") and is_valid_nhs_number(n) for n in numbers)
            assert not numbers & seen, "a patient is on one practice's list only"
            seen |= numbers
            codes = set(
                s.scalars(
                    select(event_t.c.code)
                    .join(patient_t, patient_t.c.id == event_t.c.patient_id)
                    .where(patient_t.c.practice_id == pid)
                    .distinct()
                )
            )
            assert stage <= codes  # its own stage codes are in its journal
            other = "DEMOLTC1" if built.clinical_system == "systmone" else "XabEf"
            assert other not in codes  # and never the other system's


def test_demo_pcn_is_the_same_for_one_seed(tmp_path: Path) -> None:
    dbs = [Database(f"sqlite:///{tmp_path / f'{n}.db'}") for n in "abc"]
    try:
        for d, seed in zip(dbs, (3, 3, 4), strict=True):
            build_demo(d, patients=500, seed=seed, today=TODAY, pcn=True)
        a, b, c = (_fingerprint(d) for d in dbs)
        assert a == b and a != c
    finally:
        for d in dbs:
            d.dispose()


def test_single_demo_stays_one_practice(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        result = build_demo(db, patients=300, seed=1, today=TODAY)
        assert result.practices == [] and result.practice_name == "Riverside Demo Surgery"
        assert len(_practices(db)) == 1
        with pytest.raises(RecallError, match="at least 4 patients"):
            build_demo(db, patients=3, today=TODAY, replace=True, pcn=True)
        again = build_demo(db, patients=200, seed=2, today=TODAY, replace=True, pcn=True)
        assert len(again.practices) == 4 and len(_practices(db)) == 4
    finally:
        db.dispose()


def test_cli_demo_pcn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'pcn.db'}"
    args = ["demo", "--pcn", "--patients", "400", "--no-tui", "--today", "2026-11-27"]
    assert main([*args, "--db", url]) == 0
    out = capsys.readouterr().out
    assert "Demo PCN (4 practices): 400 patients" in out
    assert "D99002 Hilltop Demo Medical Centre (EMIS Web)" in out
    assert main([*args, "--replace", "--json", "--db", url]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["ods_code"] for p in doc["practices"]] == ["D99001", "D99002", "D99003", "D99004"]
    assert sum(p["patients"] for p in doc["practices"]) == doc["patients"] == 400
