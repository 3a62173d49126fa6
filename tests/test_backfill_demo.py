"""On the demo practice, backfill's predicted PCA-eligible counts are what the PCA report
shows once the codes are applied (the same rule, read through two different paths)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import insert, select

from recall.cli import main
from recall.services.backfill import apply_backfill, plan_backfill
from recall.services.demo import build_demo
from recall.services.pca_report import pca_report
from recall.store.db import Database
from recall.store.models import event_t

TODAY = dt.date(2026, 11, 27)
GENERIC = ("Y1f8f", "1109921000000106")


def test_demo_prediction_matches_the_pca_report_after_apply(db: Database) -> None:
    build_demo(db, patients=3000, seed=11, today=TODAY)
    # The demo codes one generic invite per generic-only patient; give some a second one,
    # 14 days later, as a practice that kept sending generic letters would have.
    with db.write() as s:
        firsts = s.execute(
            select(event_t.c.patient_id, event_t.c.date).where(
                event_t.c.code.in_(GENERIC), event_t.c.date >= dt.date(2026, 4, 1)
            )
        ).all()
        seconds = [
            {
                "patient_id": pid,
                "date": day + dt.timedelta(days=14),
                "code": "Y1f8f",
                "code_system": "ctv3",
            }
            for pid, day in firsts
            if day + dt.timedelta(days=14) <= TODAY
        ]
        assert seconds
        s.execute(insert(event_t), seconds)
    before = pca_report(db, TODAY, today=TODAY)
    planned = plan_backfill(db, today=TODAY)
    summary = planned.summary
    assert summary.stage_codes > 0 and summary.condition_codes > 0
    assert summary.becomes_eligible > 0
    assert summary.blocked > 0  # the demo has AF/HF/CHD patients whose codes are not set up
    for key, counts in before.conditions.items():
        assert summary.eligible_before.get(key, 0) == counts.counts["pca_eligible"], key

    applied = apply_backfill(db, today=TODAY)
    assert applied.recorded == summary.items
    after = pca_report(db, TODAY, today=TODAY)
    for key, counts in after.conditions.items():
        assert summary.eligible_after.get(key, 0) == counts.counts["pca_eligible"], key
    gained = sum(c.counts["pca_eligible"] for c in after.conditions.values()) - sum(
        c.counts["pca_eligible"] for c in before.conditions.values()
    )
    assert gained == summary.becomes_eligible
    assert plan_backfill(db, today=TODAY).items == []


def test_demo_cli_plan_then_pca_after_apply(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    build_demo(db, patients=1500, seed=5, today=TODAY)
    base = ["--db", db.url, "--json"]
    window = ["--from", "2026-04-01", "--to", TODAY.isoformat()]
    assert main(["backfill", "plan", *window, *base]) == 0
    plan_doc = json.loads(capsys.readouterr().out)
    assert plan_doc["items"] and {i["reason"] for i in plan_doc["items"]} == {
        "generic_without_ltc",
        "ltc_without_condition_code",
    }
    assert sum(g["count"] for g in plan_doc["groups"]) == len(plan_doc["items"])
    assert main(["backfill", "apply", *window, *base]) == 0
    assert json.loads(capsys.readouterr().out)["recorded"] == len(plan_doc["items"])
    assert main(["pca", "--as-of", TODAY.isoformat(), *base]) == 0
    pca_doc = json.loads(capsys.readouterr().out)
    predicted = plan_doc["summary"]["eligible_after"]
    for key, counts in pca_doc["conditions"].items():
        assert counts["pca_eligible"] == predicted.get(key, 0), key
