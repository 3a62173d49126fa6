"""Backfill judges the year's care with the invitation engine's own rule, not "any care code is
a review": an out-of-target reading is not care done (codes added before it do not count, and
the patient is not predicted achieved); an in-target reading is; asthma review parts alone are
not a review. Its predictions match `recall pca`. Each runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from conftest import pca_statuses
from engine_seed import STAGE, Seeder

from recall.domain.pca import PcaStatus
from recall.services.backfill import plan_backfill
from recall.store.db import Database
from recall.store.models import event_t

D = dt.date
TODAY = D(2026, 11, 27)
BP = "163020007"  # BP_COD "O/E - blood pressure reading"
AST_CONTROL = "443117005"  # ASTCONTASS_COD "Asthma control test score": a part of a review
LETTER, READING = D(2026, 6, 1), D(2026, 7, 1)


def _seed(db: Database) -> tuple[int, int, int]:
    seed = Seeder(db)
    high, _ = seed.patient(conditions=("HYP",), given="High", dob=D(1960, 5, 3))
    fine, _ = seed.patient(conditions=("HYP",), given="Fine", dob=D(1960, 5, 4))
    asthma, _ = seed.patient(conditions=("AST",), given="Ash", dob=D(1960, 5, 5))
    rows = [
        (high, LETTER, STAGE[1], None),
        (high, READING, BP, "152/96"),
        (fine, LETTER, STAGE[1], None),
        (fine, READING, BP, "128/80"),
        (asthma, LETTER, STAGE[1], None),
        (asthma, READING, AST_CONTROL, "20"),
    ]
    with db.write() as s:
        s.execute(
            event_t.insert(),
            [{"patient_id": p, "date": d, "code": c, "value": v} for p, d, c, v in rows],
        )
    return high, fine, asthma


def test_backfill_judges_care_as_the_rule_engine_does(db: Database) -> None:
    high, fine, asthma = _seed(db)
    plan = plan_backfill(db, today=TODAY)
    added = {(i.patient_id, i.condition): i for i in plan.items if i.condition}
    problems = {(f.nhs_number, f.condition): f for f in plan.cannot_fix}
    nhs = {i.patient_id: i.nhs_number for i in plan.items}

    # out of target: the patient still needs care; the code added before it does not count
    assert added[(high, "HYP")].change == "HYP: not_invited (no change)"
    high_problem = problems[(nhs[high], "HYP")]
    assert high_problem.dates == (LETTER,) and "out of target" in high_problem.detail
    assert "reviewed" not in high_problem.detail

    # in target: care done, so the added code does not count (the care does)
    assert added[(fine, "HYP")].change == "HYP: achieved (no change)"
    fine_problem = problems[(nhs[fine], "HYP")]
    assert "in target" in fine_problem.detail and "care done" in fine_problem.detail

    # an asthma control score alone is not a review: the added code is a real invitation
    assert added[(asthma, "AST")].change == "AST: generic_only -> invited_once"
    assert (nhs[asthma], "AST") not in problems

    pca = pca_statuses(db, TODAY)
    assert pca[(high, "HYP")].status is PcaStatus.NOT_INVITED
    assert pca[(fine, "HYP")].status is PcaStatus.ACHIEVED
    assert pca[(asthma, "AST")].status is PcaStatus.GENERIC_ONLY
