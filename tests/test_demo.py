"""The demo practice: deterministic, realistic, and exercising every path the tool handles."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from recall.cli import main
from recall.domain.nhs import is_valid_nhs_number
from recall.services.catalogue import load_catalogue
from recall.services.demo import PATHS, build_demo
from recall.services.errors import Refused
from recall.services.imports import import_file
from recall.services.pca_report import pca_report
from recall.services.settings import get_settings
from recall.store.db import Database
from recall.store.models import event_t, patient_t, register_t

TODAY = dt.date(2026, 11, 27)


def snapshot(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with db.read() as s:
        people = s.execute(
            select(
                patient_t.c.nhs_number,
                patient_t.c.family_name,
                patient_t.c.given_name,
                patient_t.c.date_of_birth,
                patient_t.c.postcode,
                patient_t.c.communication_needs,
            ).order_by(patient_t.c.nhs_number)
        ).all()
        events = s.execute(
            select(patient_t.c.nhs_number, event_t.c.date, event_t.c.code)
            .join(patient_t, patient_t.c.id == event_t.c.patient_id)
            .order_by(patient_t.c.nhs_number, event_t.c.date, event_t.c.code)
        ).all()
    return [tuple(r) for r in people], [tuple(r) for r in events]


def test_same_seed_same_practice(tmp_path: Path) -> None:
    a = Database(f"sqlite:///{tmp_path / 'a.db'}")
    b = Database(f"sqlite:///{tmp_path / 'b.db'}")
    c = Database(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        build_demo(a, patients=1500, seed=11, today=TODAY)
        build_demo(b, patients=1500, seed=11, today=TODAY)
        build_demo(c, patients=1500, seed=12, today=TODAY)
        assert snapshot(a) == snapshot(b)
        assert snapshot(a)[0] != snapshot(c)[0]
    finally:
        for d in (a, b, c):
            d.dispose()


def test_demo_practice_is_realistic_and_exercises_every_path(db: Database) -> None:
    result = build_demo(db, patients=3000, seed=5, today=TODAY)
    assert result.patients == 3000
    assert all(result.paths[p] > 0 for p in PATHS), result.paths
    assert result.deceased > 0 and result.deregistered > 0
    # prevalence near English averages
    assert 0.10 < result.registers["HYP"] / 3000 < 0.18
    assert 0.04 < result.registers["DM"] / 3000 < 0.10
    assert result.registers["AF"] > 0 and result.registers["DEM"] > 0
    with db.read() as s:
        rows = s.execute(
            select(
                patient_t.c.id,
                patient_t.c.nhs_number,
                patient_t.c.family_name,
                patient_t.c.given_name,
                patient_t.c.mobile,
                patient_t.c.communication_needs,
                patient_t.c.date_of_birth,
            )
        ).all()
        regs = s.execute(select(register_t.c.patient_id, register_t.c.condition)).all()
        settings = get_settings(s)
        catalogue = load_catalogue(s)
        codes = {c for (c,) in s.execute(select(event_t.c.code).distinct())}
        latest = s.execute(select(event_t.c.date).order_by(event_t.c.date.desc())).first()
    nhs = [r.nhs_number for r in rows]
    assert len(set(nhs)) == len(nhs)
    assert all(n.startswith("999") and is_valid_nhs_number(n) for n in nhs)
    names = [f"{r.family_name} {r.given_name}" for r in rows]
    assert any("'" in n for n in names) and any("-" in n for n in names)
    assert any(ch in n for n in names for ch in "éëâáóñüç")
    assert any("&" in n for n in names) and any("<" in n for n in names)
    needs = ";".join(r.communication_needs for r in rows)
    for need in ("large_print", "easy_read", "no_sms", "interpreter:"):
        assert need in needs
    assert sum(1 for r in rows if r.mobile) > len(rows) / 2
    per_patient: dict[int, int] = {}
    for pid, _ in regs:
        per_patient[pid] = per_patient.get(pid, 0) + 1
    assert sum(1 for n in per_patient.values() if n >= 3) > 20  # multi-morbidity
    assert settings.practice_name == "Riverside Demo Surgery" and settings.phone
    profile = catalogue.profile
    assert {sc.code for sc in profile.stage_codes.values()} <= codes
    assert profile.generic_record_code is not None
    assert profile.generic_record_code.code in codes
    assert latest is not None and latest[0] <= TODAY


def test_pca_statuses_all_present(db: Database) -> None:
    build_demo(db, patients=3000, seed=9, today=TODAY)
    report = pca_report(db, TODAY)
    seen = {status for c in report.conditions.values() for status, n in c.counts.items() if n}
    assert seen >= {
        "achieved",
        "pca_eligible",
        "invalid_interval",
        "invited_once",
        "generic_only",
        "not_invited",
    }


def test_date_relative_to_today(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        build_demo(db, patients=800, seed=3, today=dt.date(2031, 2, 10))
        with db.read() as s:
            dates = [d for (d,) in s.execute(select(event_t.c.date))]
        assert max(dates) <= dt.date(2031, 2, 10)
        assert sum(1 for d in dates if d >= dt.date(2030, 4, 1)) > len(dates) / 2
    finally:
        db.dispose()


def test_refuses_real_data_and_needs_replace(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("nhs_number,family_name,given_name,date_of_birth\n9434765919,A,B,1950-01-01\n")
    import_file(db, "patients", path, today=TODAY)
    with pytest.raises(Refused, match="not demo data"):
        build_demo(db, patients=50, seed=1, today=TODAY, replace=True)
    with db.read() as s:
        assert len(s.execute(select(patient_t.c.id)).all()) == 1


def test_replace_rebuilds_a_demo(db: Database) -> None:
    build_demo(db, patients=300, seed=1, today=TODAY)
    with pytest.raises(Refused, match="--replace"):
        build_demo(db, patients=300, seed=1, today=TODAY)
    result = build_demo(db, patients=200, seed=2, today=TODAY, replace=True)
    with db.read() as s:
        assert len(s.execute(select(patient_t.c.id)).all()) == result.patients == 200


def test_cli_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    args = ["demo", "--patients", "400", "--seed", "4", "--no-tui", "--db", url, "--json"]
    assert main([*args, "--today", "2026-11-27"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["patients"] == 400 and out["today"] == "2026-11-27"
    assert main(args) == 2
    assert "--replace" in capsys.readouterr().err
    assert main([*args, "--replace"]) == 0


def test_cli_demo_default_file_is_separate_and_rebuilt(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--patients", "200", "--no-tui", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["url"].endswith("recall-demo.db")
    assert main(["demo", "--patients", "250", "--no-tui", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["patients"] == 250
