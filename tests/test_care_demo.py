"""The demo practice shows care already done: an in-target blood pressure is achieved and gets
no hypertension letter; an out-of-target one stays due, and the invitation dated before that
reading is not counted toward the exception (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import pca_statuses
from sqlalchemy import select

from recall.cli import main
from recall.domain.care import value_numbers
from recall.domain.pca import PcaStatus
from recall.services.batches import plan_batch
from recall.services.demo import build_demo
from recall.store.db import Database
from recall.store.models import event_t, patient_t

TODAY = dt.date(2026, 11, 27)


def test_demo_readings_in_and_out_of_target(
    db: Database, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = build_demo(db, patients=1500, seed=11, today=TODAY)
    assert result.paths["out_of_target"] > 0 and result.paths["reviewed"] > 0
    with db.read() as s:
        readings = s.execute(
            select(event_t.c.patient_id, event_t.c.date, event_t.c.value).where(
                event_t.c.value.is_not(None)
            )
        ).all()
    assert readings
    pca = pca_statuses(db, TODAY)
    hyp = {pid: r for (pid, cond), r in pca.items() if cond == "HYP"}
    in_target = [pid for pid, r in hyp.items() if r.status is PcaStatus.ACHIEVED and r.care]
    out = [pid for pid, r in hyp.items() if r.out_of_target_on is not None]
    assert in_target and out
    # values: in target at or under 140/90, out of target above it
    by_pid = {pid: value_numbers(v) for pid, _d, v in readings}
    assert all(by_pid[p][0] <= 140 for p in in_target if p in by_pid)
    not_counted = [pid for pid in out if hyp[pid].not_counted]
    assert not_counted, "an invitation before the out-of-target reading is not counted"
    for pid in not_counted:
        floor = hyp[pid].out_of_target_on
        assert floor is not None and all(d <= floor for d in hyp[pid].not_counted)
        assert hyp[pid].status is not PcaStatus.PCA_ELIGIBLE

    # no hypertension list holds an in-target patient; out-of-target ones are still due
    listed: set[int] = set()
    for stage in (1, 2, 3):
        plan = plan_batch(db, stage, "2026-11", TODAY, today=TODAY)
        listed |= {i.patient_id for i in plan.invitations if "HYP" in i.conditions}
    assert listed, "this month's lists invite someone for hypertension"
    assert not listed & set(in_target)
    assert listed & set(out)

    # and the CLI says the same: `recall pca` counts them achieved, `recall patient` says why
    day = ["--as-of", TODAY.isoformat(), "--db", db_url]
    assert main(["pca", "--json", *day]) == 0
    counts = json.loads(capsys.readouterr().out)["conditions"]["HYP"]
    assert counts["achieved"] == sum(r.status is PcaStatus.ACHIEVED for r in hyp.values())
    assert counts["out_of_target"] == len(out)
    with db.read() as s:
        nhs = dict(s.execute(select(patient_t.c.id, patient_t.c.nhs_number)).all())
    assert main(["patient", nhs[in_target[0]], "--json", *day]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"]["HYP"] == "achieved" and "in target" in doc["details"]["HYP"]["care"]
    late = not_counted[0]
    assert main(["patient", nhs[late], "--json", *day]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"]["HYP"] != "achieved"
    assert doc["details"]["HYP"]["not_counted"] == [d.isoformat() for d in hyp[late].not_counted]


def test_dashboard_says_depression_earns_no_qof(db: Database) -> None:
    from recall.services.views.dashboard import no_qof_notes

    notes = no_qof_notes(db, TODAY)
    assert any(n.startswith("Depression: no QOF indicator in 2026/27") for n in notes)
    assert any("PCA does not apply" in n for n in notes)
