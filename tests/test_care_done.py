"""Care already done: reviews and readings in target make a condition achieved; an out-of-target
reading keeps the patient due, and invitations before it do not count toward the exception."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import pca_statuses
from engine_seed import HYP, Seeder
from sqlalchemy import func, select

from recall.domain.care import (
    Reading,
    Target,
    TargetBand,
    care_state,
    pair_readings,
    parse_value,
)
from recall.domain.pca import PcaStatus
from recall.services.batches import plan_batch
from recall.services.imports import ImportRefused, import_file
from recall.services.patients import patient_view
from recall.store.db import Database
from recall.store.models import event_t

D = dt.date
TODAY = D(2026, 11, 27)
# codes copied from the shipped care lists (data/codelists/care/, see SOURCES.md)
BP = "163020007"  # BP_COD "O/E - blood pressure reading"
SYSTOLIC = "271649006"  # BP_COD "Systolic blood pressure"
DIASTOLIC = "271650006"  # BP_COD "Diastolic blood pressure"
HBA1C = "999791000000106"  # IFCCHBAM_COD
COPD_REVIEW = "394703002"  # COPDRVW_COD
BP_TARGET = Target(
    "blood pressure",
    (TargetBand((140, 90), max_age=79), TargetBand((150, 90), min_age=80)),
)


# -- the pure rule ----------------------------------------------------------------------


def test_parse_value() -> None:
    assert parse_value(" 150 / 90 ") == "150/90"
    assert parse_value("48.0") == "48"
    assert parse_value("7.25") == "7.25"
    assert parse_value("") == ""
    with pytest.raises(ValueError, match="is not a number"):
        parse_value("high")
    with pytest.raises(ValueError, match="diastolic is above"):
        parse_value("80/120")


def test_pair_readings_by_day_takes_the_lowest_of_each_half() -> None:
    day = D(2026, 6, 1)
    got = pair_readings(
        [
            (day, "sys", "150"),
            (day, "dia", "85"),
            (day, "sys", "138"),
            (D(2026, 7, 1), "", "142/88"),
            (D(2026, 8, 1), "", None),
        ]
    )
    assert got == (
        Reading(day, (138.0, 85.0)),
        Reading(D(2026, 7, 1), (142.0, 88.0)),
        Reading(D(2026, 8, 1)),
    )


def _state(readings: list[Reading], dob: dt.date) -> tuple[bool, dt.date | None]:
    s = care_state(
        reviews=(),
        readings=readings,
        target=BP_TARGET,
        start=D(2026, 4, 1),
        end=TODAY,
        date_of_birth=dob,
        age_day=D(2027, 3, 31),
    )
    return s.achieved, s.out_of_target_on


def test_latest_reading_decides_by_age_band() -> None:
    young, old = D(1960, 1, 1), D(1940, 1, 1)
    out, fine = Reading(D(2026, 5, 1), (160, 95)), Reading(D(2026, 6, 1), (145, 85))
    assert _state([out, fine], young) == (False, D(2026, 6, 1))  # 145 > 140 under 80
    assert _state([out, fine], old) == (True, None)  # 145 <= 150 at 80+
    assert _state([fine, Reading(D(2026, 7, 1), (130, 80))], young) == (True, None)
    assert _state([Reading(D(2026, 7, 1))], young) == (True, None)  # taken, no value
    assert _state([Reading(D(2026, 3, 1), (130, 80))], young) == (False, None)  # last year


# -- on a real database -------------------------------------------------------------------


def _events(tmp_path: Path, rows: list[str], name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text("nhs_number,date,code,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_in_target_bp_is_achieved_and_not_invited(db: Database, tmp_path: Path) -> None:
    seed = Seeder(db)
    fine, fine_nhs = seed.patient(conditions=("HYP",), given="Fine", dob=D(1960, 12, 3))
    high, high_nhs = seed.patient(conditions=("HYP",), given="High", dob=D(1960, 12, 5))
    split, split_nhs = seed.patient(conditions=("HYP",), given="Split", dob=D(1960, 12, 9))
    import_file(
        db,
        "events",
        _events(
            tmp_path,
            [
                f"{fine_nhs},2026-10-01,{BP},132/84",
                f"{high_nhs},2026-06-01,{HYP},",  # invited before the reading: does not count
                f"{high_nhs},2026-09-01,{BP},128/80",
                f"{high_nhs},2026-10-15,{BP},152/96",  # the latest reading decides
                f"{split_nhs},2026-10-02,{SYSTOLIC},150",
                f"{split_nhs},2026-10-02,{DIASTOLIC},92",
            ],
        ),
        today=TODAY,
    )
    pca = pca_statuses(db, TODAY)
    assert pca[(fine, "HYP")].status is PcaStatus.ACHIEVED
    assert "in target" in pca[(fine, "HYP")].care
    high_result = pca[(high, "HYP")]
    assert high_result.status is PcaStatus.NOT_INVITED
    assert high_result.not_counted == (D(2026, 6, 1),)
    assert high_result.out_of_target_on == D(2026, 10, 15)
    assert "out of target" in high_result.care
    assert pca[(split, "HYP")].out_of_target_on == D(2026, 10, 2)

    plan = plan_batch(db, 1, "2026-12", D(2026, 12, 1), today=D(2026, 12, 1))
    invited = {i.patient_id for i in plan.invitations}
    assert fine not in invited and split in invited
    reasons = {e.patient_id: e.reason for e in plan.excluded}
    assert "in target" in reasons[fine]
    # the out-of-target patient is due: their 1st-stage letter went before the reading, so
    # this is their 2nd letter, which is the first that counts toward the exception
    assert high not in invited
    plan2 = plan_batch(db, 2, "2026-12", D(2026, 12, 1), today=D(2026, 12, 1))
    assert high in {i.patient_id for i in plan2.invitations}

    view = patient_view(db, high_nhs, as_of=TODAY)
    assert "out of target" in view.status["HYP"].care
    assert view.as_json()["details"]["HYP"]["not_counted"] == ["2026-06-01"]


def test_two_invitations_after_an_out_of_target_reading_make_eligible(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP",))
    with db.write() as s:
        s.execute(
            event_t.insert(),
            [
                {"patient_id": pid, "date": D(2026, 5, 1), "code": BP, "value": "160/100"},
                {"patient_id": pid, "date": D(2026, 5, 20), "code": HYP, "value": None},
                {"patient_id": pid, "date": D(2026, 6, 10), "code": HYP, "value": None},
            ],
        )
    result = pca_statuses(db, TODAY)[(pid, "HYP")]
    assert result.status is PcaStatus.PCA_ELIGIBLE
    assert result.not_counted == ()


def test_hba1c_and_copd_review(db: Database) -> None:
    seed = Seeder(db)
    dm_ok, _ = seed.patient(conditions=("DM",))
    dm_high, _ = seed.patient(conditions=("DM",))
    copd, _ = seed.patient(conditions=("COPD",))
    with db.write() as s:
        s.execute(
            event_t.insert(),
            [
                {"patient_id": dm_ok, "date": D(2026, 7, 1), "code": HBA1C, "value": "52"},
                {"patient_id": dm_high, "date": D(2026, 7, 1), "code": HBA1C, "value": "64"},
                {"patient_id": copd, "date": D(2026, 8, 1), "code": COPD_REVIEW, "value": None},
            ],
        )
    pca = pca_statuses(db, TODAY)
    assert pca[(dm_ok, "DM")].status is PcaStatus.ACHIEVED
    assert pca[(dm_high, "DM")].status is PcaStatus.NOT_INVITED
    assert pca[(dm_high, "DM")].out_of_target_on == D(2026, 7, 1)
    assert pca[(copd, "COPD")].status is PcaStatus.ACHIEVED


def test_a_value_that_is_not_a_number_names_line_and_column(db: Database, tmp_path: Path) -> None:
    seed = Seeder(db)
    _, nhs = seed.patient(conditions=("HYP",))
    path = _events(tmp_path, [f"{nhs},2026-10-01,{BP},130/80", f"{nhs},2026-10-02,{BP},high"])
    with pytest.raises(ImportRefused) as err:
        import_file(db, "events", path, today=TODAY)
    text = str(err.value)
    assert "line 3" in text and "value" in text and "not a number" in text
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(event_t)) == 0
