"""Batches end to end on a real database: plan, untick, confirm, void, and the 7-day rule."""

from __future__ import annotations

import datetime as dt

import pytest
from engine_seed import AF, AST_REVIEW, DM, HF, HYP, STAGE, Seeder
from sqlalchemy import select, update

from recall.services.batches import (
    confirm_batch,
    exclude_patient,
    get_batch,
    include_patient,
    invite_patient,
    list_batches,
    plan_adhoc,
    plan_batch,
    void_batch,
)
from recall.services.errors import NotFound, Refused
from recall.store.db import Database
from recall.store.models import audit_log_t, batch_t, patient_t, recorded_code_t

D = dt.date
TODAY = D(2026, 11, 27)


def codes_of(db: Database, pid: int | None = None, live: bool = True) -> set[tuple[int, str, D]]:
    r = recorded_code_t
    q = select(r.c.patient_id, r.c.code, r.c.date)
    if live:
        q = q.where(r.c.voided.is_(False))
    if pid is not None:
        q = q.where(r.c.patient_id == pid)
    with db.read() as s:
        return {(row[0], row[1], row[2]) for row in s.execute(q)}


def test_stage1_plan_lists_due_and_excluded_with_reasons(db: Database) -> None:
    seed = Seeder(db)
    due, _ = seed.patient(dob=D(1950, 11, 3), conditions=("HYP", "DM"), given="Due")
    seed.patient(dob=D(1950, 10, 3), conditions=("HYP",), given="October")
    dead, _ = seed.patient(dob=D(1950, 11, 4), conditions=("HYP",), date_of_death=D(2026, 9, 1))
    chd, _ = seed.patient(dob=D(1950, 11, 5), conditions=("CHD",))
    left, _ = seed.patient(dob=D(1950, 11, 6), conditions=("DM",), deregistered_on=D(2026, 5, 1))
    seed.patient(dob=D(1950, 11, 7), conditions=())  # no register: not considered
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    assert plan.batch.status == "planned" and plan.batch.stage == 1
    assert [(x.patient_id, x.conditions) for x in plan.invitations] == [(due, ("DM", "HYP"))]
    reasons = {e.patient_id: e.reason for e in plan.excluded}
    assert set(reasons) == {dead, chd, left}
    assert "died" in reasons[dead]
    assert "left the practice" in reasons[left]
    assert "CHDINVITE_COD" in reasons[chd]
    inv = plan.invitations[0]
    assert inv.channel == "letter" and inv.age == 75 and inv.flags == ()


def test_replan_keeps_batch_id_and_staff_exclusions(db: Database) -> None:
    seed = Seeder(db)
    a, _ = seed.patient(conditions=("HYP",), given="A")
    b, _ = seed.patient(conditions=("DM",), given="B")
    first = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    after = exclude_patient(db, first.batch.id, a, "moving away")
    assert [e.reason for e in after.excluded if e.by_staff] == ["moving away"]
    again = plan_batch(db, 1, "2026-11", D(2026, 11, 3), today=TODAY)
    assert again.batch.id == first.batch.id
    assert again.batch.planned_send_date == D(2026, 11, 3)
    assert [x.patient_id for x in again.invitations] == [b]
    assert [e.patient_id for e in again.excluded if e.by_staff] == [a]
    assert len(list_batches(db)) == 1
    back = include_patient(db, first.batch.id, a)
    assert {x.patient_id for x in back.invitations} == {a, b}
    with pytest.raises(NotFound):
        exclude_patient(db, 9999, a, "x")


def test_confirm_records_stage_and_condition_codes_once(db: Database) -> None:
    seed = Seeder(db)
    pid, nhs = seed.patient(conditions=("HYP", "DM"))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    result = confirm_batch(db, plan.batch.id, D(2026, 11, 3), today=TODAY)
    assert result.batch.status == "sent" and result.batch.sent_on == D(2026, 11, 3)
    want = {(pid, STAGE[1], D(2026, 11, 3)), (pid, HYP, D(2026, 11, 3)), (pid, DM, D(2026, 11, 3))}
    assert codes_of(db) == want
    assert {(c.nhs_number, c.code, c.condition) for c in result.codes} == {
        (nhs, STAGE[1], None),
        (nhs, HYP, "HYP"),
        (nhs, DM, "DM"),
    }
    with pytest.raises(Refused, match="already confirmed"):
        confirm_batch(db, plan.batch.id, D(2026, 11, 3), today=TODAY)
    assert codes_of(db) == want
    # a confirmed cohort is not invited again at stage 1
    again = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    assert again.batch.id != plan.batch.id and again.invitations == []
    assert "already had the 1st invitation" in again.excluded[0].reason
    with db.read() as s:
        actions = [r[0] for r in s.execute(select(audit_log_t.c.action))]
    assert actions.count("batch.confirm") == 1 and "batch.plan" in actions


def test_af_and_hf_patient_gets_both_condition_codes_and_one_stage_code(db: Database) -> None:
    seed = Seeder(db)
    seed.settings(enable=("AF", "HF"))
    pid, _ = seed.patient(conditions=("AF", "HF"))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 10), today=TODAY)
    assert plan.invitations[0].conditions == ("AF", "HF")
    confirm_batch(db, plan.batch.id, today=TODAY)
    day = D(2026, 11, 10)
    assert codes_of(db, pid) == {(pid, STAGE[1], day), (pid, AF, day), (pid, HF, day)}


def test_provisional_conditions_are_off_by_default(db: Database) -> None:
    seed = Seeder(db)
    _pid, _ = seed.patient(conditions=("AF",))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 10), today=TODAY)
    assert plan.invitations == []
    assert "not verified" in plan.excluded[0].reason
    assert any(w.startswith("AF:") for w in plan.warnings)


def test_generic_code_option(db: Database) -> None:
    seed = Seeder(db)
    seed.settings(record_generic=True)
    pid, _ = seed.patient(conditions=("HYP",))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 10), today=TODAY)
    confirm_batch(db, plan.batch.id, today=TODAY)
    assert (pid, "Y1f8f", D(2026, 11, 10)) in codes_of(db, pid)


def _second_stage_setup(db: Database) -> tuple[Seeder, int, str, D]:
    seed = Seeder(db)
    pid, nhs = seed.patient(conditions=("HYP",))
    first = D(2026, 11, 1)
    seed.events((pid, first, STAGE[1]), (pid, first, HYP))
    return seed, pid, nhs, first


@pytest.mark.parametrize(("offset", "outcome"), [(6, "refused"), (7, "warned"), (8, "accepted")])
def test_second_invite_seven_day_boundary(db: Database, offset: int, outcome: str) -> None:
    seed, pid, nhs, first = _second_stage_setup(db)
    seed.settings(stage_interval_days=7)
    plan = plan_batch(db, 2, "2026-11", first + dt.timedelta(days=14), today=TODAY)
    assert [x.patient_id for x in plan.invitations] == [pid]
    sent = first + dt.timedelta(days=offset)
    if outcome == "refused":
        with pytest.raises(Refused) as info:
            confirm_batch(db, plan.batch.id, sent, today=TODAY)
        assert info.value.problems[0]["nhs_number"] == nhs
        assert "6 days before" in info.value.problems[0]["reason"]
        assert codes_of(db) == set()
        assert get_batch(db, plan.batch.id).batch.status == "planned"
        # excluding the patient lets the (now empty) rest go
        done = confirm_batch(db, plan.batch.id, sent, exclude=[nhs], today=TODAY)
        assert done.codes == [] and done.dropped[0].by_staff
        return
    result = confirm_batch(db, plan.batch.id, sent, today=TODAY)
    assert (pid, HYP, sent) in codes_of(db)
    if outcome == "warned":
        assert len(result.warnings) == 1 and "exactly 7 days" in result.warnings[0]["reason"]
    else:
        assert result.warnings == []


def test_second_stage_waits_for_the_interval_and_warns_below_it(db: Database) -> None:
    _seed, _pid, _nhs, first = _second_stage_setup(db)
    early = plan_batch(db, 2, "2026-11", first + dt.timedelta(days=13), today=TODAY)
    assert early.invitations == []
    assert early.excluded[0].waiting_until == first + dt.timedelta(days=14)
    plan = plan_batch(db, 2, "2026-11", first + dt.timedelta(days=14), today=TODAY)
    assert plan.batch.id == early.batch.id and len(plan.invitations) == 1
    result = confirm_batch(db, plan.batch.id, first + dt.timedelta(days=8), today=TODAY)
    assert "less than the 14-day stage interval" in result.warnings[0]["reason"]


def test_stage_two_counts_imported_stage_codes_without_condition_codes(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("DM",))
    seed.events((pid, D(2026, 10, 1), STAGE[1]))  # practice started mid-year
    stage1 = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    assert stage1.invitations == [] and "already had the 1st" in stage1.excluded[0].reason
    stage2 = plan_batch(db, 2, "2026-11", D(2026, 11, 2), today=TODAY)
    assert [x.conditions for x in stage2.invitations] == [("DM",)]
    confirm_batch(db, stage2.batch.id, today=TODAY)
    assert (pid, STAGE[2], D(2026, 11, 2)) in codes_of(db)
    stage3 = plan_batch(db, 3, "2026-11", D(2026, 11, 16), today=TODAY)
    assert len(stage3.invitations) == 1


def test_patient_reviewed_between_stage_one_and_two_gets_no_second(db: Database) -> None:
    seed = Seeder(db)
    reviewed, _ = seed.patient(conditions=("AST",), given="Reviewed")
    booked, _ = seed.patient(conditions=("HYP",), given="Booked")
    waiting, _ = seed.patient(conditions=("HYP",), given="Waiting")
    s1 = plan_batch(db, 1, "2026-11", D(2026, 10, 5), today=TODAY)
    confirm_batch(db, s1.batch.id, today=TODAY)
    seed.events((reviewed, D(2026, 10, 10), AST_REVIEW))
    seed.response(booked, "HYP", D(2026, 10, 12))
    s2 = plan_batch(db, 2, "2026-11", D(2026, 11, 1), today=TODAY)
    assert [x.patient_id for x in s2.invitations] == [waiting]
    reasons = {e.patient_id: e.reason for e in s2.excluded}
    assert "reviewed this year" in reasons[reviewed]
    assert "booked" in reasons[booked]


def test_patient_who_died_between_plan_and_confirm_is_dropped(db: Database) -> None:
    seed = Seeder(db)
    stays, _ = seed.patient(conditions=("HYP",), given="Stays")
    dies, _ = seed.patient(conditions=("HYP",), given="Dies")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    assert len(plan.invitations) == 2
    with db.write() as s:
        s.execute(
            update(patient_t).where(patient_t.c.id == dies).values(date_of_death=D(2026, 11, 18))
        )
    result = confirm_batch(db, plan.batch.id, today=TODAY)
    assert [d.patient_id for d in result.dropped] == [dies]
    assert "died on 2026-11-18" in result.dropped[0].reason
    assert {c.patient_id for c in result.codes} == {stays}
    assert codes_of(db, dies) == set()


def test_void_confirmed_batch_stops_its_codes_counting(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP",))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    confirm_batch(db, plan.batch.id, today=TODAY)
    info = void_batch(db, plan.batch.id, "letters never posted")
    assert info.status == "void" and info.void_reason == "letters never posted"
    assert codes_of(db) == set() and len(codes_of(db, live=False)) == 2
    with pytest.raises(Refused):
        void_batch(db, plan.batch.id, "again")
    with pytest.raises(Refused, match="void"):
        confirm_batch(db, plan.batch.id, today=TODAY)
    fresh = plan_batch(db, 1, "2026-11", D(2026, 11, 5), today=TODAY)
    assert fresh.batch.id != plan.batch.id and len(fresh.invitations) == 1
    confirm_batch(db, fresh.batch.id, today=TODAY)
    assert codes_of(db, pid) == {(pid, STAGE[1], D(2026, 11, 5)), (pid, HYP, D(2026, 11, 5))}
    with db.read() as s:
        actions = [r[0] for r in s.execute(select(audit_log_t.c.action))]
    assert "batch.void" in actions


def test_confirm_refuses_future_and_other_qof_year(db: Database) -> None:
    seed = Seeder(db)
    seed.patient(conditions=("HYP",), dob=D(1950, 3, 3))
    plan = plan_batch(db, 1, "2027-03", D(2027, 3, 31), today=D(2027, 3, 1))
    assert plan.invitations[0].flags == ("late_in_year",)
    with pytest.raises(Refused, match="future"):
        confirm_batch(db, plan.batch.id, today=D(2027, 3, 30))
    with pytest.raises(Refused, match="outside"):
        confirm_batch(db, plan.batch.id, D(2027, 4, 1), today=D(2027, 4, 2))
    done = confirm_batch(db, plan.batch.id, D(2027, 3, 31), today=D(2027, 4, 2))
    assert done.batch.sent_on == D(2027, 3, 31)


def test_confirm_blocks_conditions_without_a_ready_record_code(db: Database) -> None:
    seed = Seeder(db)
    seed.settings(enable=("AF",))
    seed.patient(conditions=("AF",))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    assert len(plan.invitations) == 1
    seed.settings(conditions={})  # the practice turned AF off again
    with pytest.raises(Refused, match="AF") as info:
        confirm_batch(db, plan.batch.id, today=TODAY)
    assert info.value.problems[0]["condition"] == "AF"
    assert codes_of(db) == set()


def test_adhoc_invite_is_a_one_patient_batch(db: Database) -> None:
    seed = Seeder(db)
    pid, nhs = seed.patient(conditions=("HYP",), dob=D(1950, 5, 5))
    result = invite_patient(db, nhs, 1, D(2026, 11, 20), today=TODAY)
    assert result.batch.kind == "adhoc" and result.batch.invited == 1
    assert (pid, HYP, D(2026, 11, 20)) in codes_of(db)
    with pytest.raises(Refused, match="already had"):
        plan_adhoc(db, nhs, 1, D(2026, 11, 27), today=TODAY)
    # 2nd too soon: refused at confirm, the ad-hoc batch is voided, nothing recorded
    with pytest.raises(Refused):
        invite_patient(db, nhs, 2, D(2026, 11, 24), today=TODAY)
    second = invite_patient(db, nhs, 2, D(2026, 11, 27), today=TODAY)
    assert "exactly 7 days" in second.warnings[0]["reason"]
    with db.read() as s:
        statuses = sorted(r[0] for r in s.execute(select(batch_t.c.status)))
    assert statuses == ["sent", "sent"] or statuses == ["sent", "sent", "void"]


def test_declined_patients_are_not_invited_for_that_condition(db: Database) -> None:
    from recall.resources import data_dir
    from recall.services.catalogue import read_codelist_file

    decline = next(iter(read_codelist_file(data_dir() / "codelists" / "hyppcadec_cod.csv")))
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP", "DM"))
    seed.events((pid, D(2026, 6, 1), decline))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    assert plan.invitations[0].conditions == ("DM",)


def test_channel_sms_and_needs(db: Database) -> None:
    seed = Seeder(db)
    seed.settings(sms_enabled=True)
    sms, _ = seed.patient(conditions=("HYP",), mobile="07700900123", given="Sms")
    nosms, _ = seed.patient(
        conditions=("HYP",), mobile="07700900124", communication_needs="no_sms;large_print"
    )
    noletter, _ = seed.patient(conditions=("HYP",), communication_needs="no_letter")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    by = {x.patient_id: x for x in plan.invitations}
    assert by[sms].channel == "sms"
    assert by[nosms].channel == "letter" and by[nosms].needs == ("no_sms", "large_print")
    assert noletter not in by  # no mobile and no letters: nothing is sent, nothing coded
    phone = {e.patient_id: e for e in plan.excluded}[noletter]
    assert phone.channel == "phone" and "contact by phone" in phone.reason


def test_recall_month_override_and_review_anniversary(db: Database) -> None:
    seed = Seeder(db)
    moved, _ = seed.patient(conditions=("HYP",), dob=D(1950, 3, 3), recall_month=11)
    stays, _ = seed.patient(conditions=("HYP",), dob=D(1950, 11, 3), recall_month=2)
    nov = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    assert [x.patient_id for x in nov.invitations] == [moved]
    seed.settings(recall_rule="review_anniversary")
    reviewed, _ = seed.patient(conditions=("AST",), dob=D(1950, 1, 3))
    seed.events((reviewed, D(2025, 11, 15), AST_REVIEW))  # last year's review, in November
    never, _ = seed.patient(conditions=("AST",), dob=D(1950, 11, 9))  # falls back to birth month
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    assert {x.patient_id for x in plan.invitations} == {moved, reviewed, never}
    assert stays not in {x.patient_id for x in plan.invitations}


def test_two_terminals_confirming_at_once_record_one_set_of_codes(db: Database) -> None:
    import threading

    seed = Seeder(db)
    for i in range(5):
        seed.patient(conditions=("HYP",), given=f"P{i}")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 2), today=TODAY)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def terminal() -> None:
        barrier.wait()
        try:
            confirm_batch(db, plan.batch.id, today=TODAY)
            outcomes.append("ok")
        except Refused as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=terminal) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes)[-1] == "ok" and outcomes.count("ok") == 1
    assert any("already confirmed" in o for o in outcomes)
    assert len(codes_of(db)) == 10


def test_confirm_warns_about_an_uncoded_invite_close_by(db: Database) -> None:
    seed = Seeder(db)
    pid, _nhs = seed.patient(conditions=("HYP",))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 10), today=TODAY)
    seed.events((pid, D(2026, 11, 12), "Y1f8f"))  # generic only, imported after planning
    result = confirm_batch(db, plan.batch.id, today=TODAY)
    assert "without the HYP code on 2026-11-12" in result.warnings[0]["reason"]
    assert (pid, HYP, D(2026, 11, 10)) in codes_of(db)


def test_patient_who_left_or_came_off_the_register_is_dropped_at_confirm(db: Database) -> None:
    from recall.store.models import register_t

    seed = Seeder(db)
    left, _ = seed.patient(conditions=("HYP",), given="Left")
    resolved, _ = seed.patient(conditions=("DM", "HYP"), given="Resolved")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    with db.write() as s:
        s.execute(
            update(patient_t).where(patient_t.c.id == left).values(deregistered_on=D(2026, 11, 19))
        )
        s.execute(
            update(register_t)
            .where(register_t.c.patient_id == resolved, register_t.c.condition == "DM")
            .values(resolved_on=D(2026, 11, 1))
        )
    result = confirm_batch(db, plan.batch.id, today=TODAY)
    assert [(d.patient_id, "left the practice" in d.reason) for d in result.dropped] == [
        (left, True)
    ]
    assert {(c.patient_id, c.condition) for c in result.codes} == {
        (resolved, None),
        (resolved, "HYP"),
    }
    sent = get_batch(db, plan.batch.id)
    assert [x.conditions for x in sent.invitations] == [("HYP",)]


def test_review_after_the_send_date_does_not_undo_a_sent_letter(db: Database) -> None:
    seed = Seeder(db)
    early, _ = seed.patient(conditions=("AST",), given="Early")
    late, _ = seed.patient(conditions=("AST",), given="Late")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 10), today=TODAY)
    seed.events((early, D(2026, 11, 8), AST_REVIEW), (late, D(2026, 11, 20), AST_REVIEW))
    result = confirm_batch(db, plan.batch.id, today=TODAY)
    assert [d.patient_id for d in result.dropped] == [early]
    assert "reviewed this year (2026-11-08)" in result.dropped[0].reason
    assert {c.patient_id for c in result.codes} == {late}
