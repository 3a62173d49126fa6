"""Every recorded code is a true invitation: one test per way the tool used to record one that
was not (sent before the 1st letter, before the letters existed, before registration, for a
letter that was never sent, ...). Each runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from engine_seed import DM, GENERIC_CTV3, HYP, STAGE, Seeder, live_codes
from sqlalchemy import func, select

from recall.domain.backfill import PatientJournal, Window, plan_patient
from recall.domain.invitations import RegisterSpan
from recall.services.backfill import plan_backfill
from recall.services.batches import (
    confirm_batch,
    get_batch,
    invite_patient,
    plan_batch,
)
from recall.services.errors import Refused
from recall.services.letters import render_batch_letters
from recall.services.patients import patient_view
from recall.services.pca_report import pca_report
from recall.services.views.dashboard import due_options, stage_totals
from recall.store.db import Database
from recall.store.models import batch_t, recorded_code_t

D = dt.date
TODAY = D(2026, 11, 27)


def test_second_invitation_dated_before_the_first_is_refused(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP",))
    first = plan_batch(db, 1, "2026-11", D(2026, 11, 10), today=TODAY)
    confirm_batch(db, first.batch.id, today=TODAY)
    second = plan_batch(db, 2, "2026-11", D(2026, 11, 24), today=D(2026, 11, 24))
    assert [x.patient_id for x in second.invitations] == [pid]
    with pytest.raises(Refused, match="stage order") as info:
        confirm_batch(db, second.batch.id, D(2026, 11, 2), today=TODAY)
    assert info.value.problems[0]["condition"] == "HYP"
    assert live_codes(db, pid) == {(STAGE[1], D(2026, 11, 10)), (HYP, D(2026, 11, 10))}


def test_send_date_before_the_letters_were_made_is_refused(db: Database, tmp_path: Path) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP",))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 29), today=D(2026, 11, 29))
    render_batch_letters(db, plan.batch.id, tmp_path / "out", D(2026, 11, 29), pdf=False)
    with pytest.raises(Refused, match="before they existed"):
        confirm_batch(db, plan.batch.id, D(2026, 11, 12), today=D(2026, 11, 29))
    assert live_codes(db, pid) == set()
    done = confirm_batch(db, plan.batch.id, D(2026, 11, 29), today=D(2026, 11, 29))
    assert done.batch.letters_made_on == D(2026, 11, 29)


def test_confirmed_batch_letters_are_never_made_again(db: Database, tmp_path: Path) -> None:
    seed = Seeder(db)
    seed.patient(conditions=("HYP",))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    render_batch_letters(db, plan.batch.id, tmp_path / "out", TODAY, pdf=False)
    confirm_batch(db, plan.batch.id, TODAY, today=TODAY)
    with pytest.raises(Refused, match="not made again"):
        render_batch_letters(db, plan.batch.id, tmp_path / "again", TODAY, pdf=False)
    assert not (tmp_path / "again").exists() or not any((tmp_path / "again").iterdir())


def test_confirm_names_the_letters_to_take_out(db: Database, tmp_path: Path) -> None:
    seed = Seeder(db)
    seed.patient(conditions=("HYP",), family="Able")
    out, _ = seed.patient(conditions=("HYP",), family="Baker")
    seed.patient(conditions=("DM",), family="Cole")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    made = render_batch_letters(db, plan.batch.id, tmp_path / "out", TODAY, pdf=False)
    assert made.counts["letters"] == 3
    result = confirm_batch(db, plan.batch.id, TODAY, exclude_patient_ids=[out], today=TODAY)
    assert len(result.take_out) == 1
    assert result.take_out[0].startswith("letter 2 (Ann Baker)")
    assert "excluded by staff" in result.take_out[0]
    assert live_codes(db, out) == set()


def test_letters_recheck_takes_out_a_patient_reviewed_since_planning(
    db: Database, tmp_path: Path
) -> None:
    seed = Seeder(db)
    reviewed, _ = seed.patient(conditions=("AST",), family="Able")
    seed.patient(conditions=("HYP",), family="Baker")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    from engine_seed import AST_REVIEW

    seed.events((reviewed, D(2026, 11, 21), AST_REVIEW))  # the latest import
    made = render_batch_letters(db, plan.batch.id, tmp_path / "out", TODAY, pdf=False)
    assert made.counts["letters"] == 1
    assert any("taken out" in n and "reviewed" in n for n in made.notes)
    left_out = {e.patient_id: e.reason for e in get_batch(db, plan.batch.id).excluded}
    assert "reviewed" in left_out[reviewed]


def test_letters_made_before_the_send_date_still_see_an_import_since_planning(
    db: Database, tmp_path: Path
) -> None:
    """Letters made the day the list was planned skip the second full check only when the
    audit log shows nothing happened since; an import in between always triggers it."""
    from engine_seed import AST_REVIEW

    from recall.services.imports import import_file
    from recall.store.models import audit_log_t

    seed = Seeder(db)
    _reviewed, nhs = seed.patient(conditions=("AST",), family="Able")
    seed.patient(conditions=("HYP",), family="Baker")
    send = D(2026, 11, 30)  # after today: letters are made ahead of the send date
    plan = plan_batch(db, 1, "2026-11", send, today=TODAY)
    events = tmp_path / "events.csv"
    events.write_text(f"nhs_number,date,code\n{nhs},{TODAY:%Y-%m-%d},{AST_REVIEW}\n")
    import_file(db, "events", events, operator="test", today=TODAY)
    made = render_batch_letters(db, plan.batch.id, tmp_path / "out", TODAY, pdf=False)
    assert made.counts["letters"] == 1
    assert any("taken out" in n and "reviewed" in n for n in made.notes)
    # nothing since planning: the same answer, and no re-check entry in the log
    again = plan_batch(db, 1, "2026-11", send, today=TODAY)
    made = render_batch_letters(db, again.batch.id, tmp_path / "out2", TODAY, pdf=False)
    assert made.counts["letters"] == 1
    a = audit_log_t
    with db.read() as s:
        rechecks = s.execute(
            select(func.count()).where(a.c.action == "batch.recheck", a.c.batch_id == plan.batch.id)
        ).scalar_one()
    assert rechecks == 1


def test_no_codes_dated_before_registration(db: Database) -> None:
    seed = Seeder(db)
    pid, nhs = seed.patient(conditions=("HYP",), registered_on=D(2026, 11, 5))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 10), today=TODAY)
    assert [x.patient_id for x in plan.invitations] == [pid]
    with pytest.raises(Refused, match="registers on 2026-11-05") as info:
        confirm_batch(db, plan.batch.id, D(2026, 11, 3), today=TODAY)
    assert info.value.problems[0]["nhs_number"] == nhs
    assert live_codes(db, pid) == set()


def test_invitations_before_register_entry_or_registration_do_not_count_for_pca(
    db: Database,
) -> None:
    seed = Seeder(db)
    late_entry, _ = seed.patient(conditions=())
    seed.register(late_entry, "HYP", diagnosed_on=D(2026, 7, 1))
    late_joiner, _ = seed.patient(conditions=("HYP",), registered_on=D(2026, 6, 1))
    both = (D(2026, 5, 1), D(2026, 8, 1))
    seed.events(*[(p, d, HYP) for p in (late_entry, late_joiner) for d in both])
    report = pca_report(db, TODAY, today=TODAY)
    assert report.conditions["HYP"].counts["pca_eligible"] == 0
    assert report.conditions["HYP"].counts["invited_once"] == 2
    # the backfill planner reads the same window: it predicts what the report shows
    assert plan_backfill(db, today=TODAY).summary.eligible_before.get("HYP", 0) == 0


def test_condition_added_mid_year_gets_its_own_invitations(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("DM",), dob=D(1950, 6, 3))
    s1 = plan_batch(db, 1, "2026-06", D(2026, 6, 5), today=TODAY)
    confirm_batch(db, s1.batch.id, today=TODAY)
    s2 = plan_batch(db, 2, "2026-06", D(2026, 6, 20), today=TODAY)
    confirm_batch(db, s2.batch.id, today=TODAY)
    seed.register(pid, "HYP", diagnosed_on=D(2026, 7, 1))
    # the next letter (DM's 3rd) also carries HYP's 1st invitation
    s3 = plan_batch(db, 3, "2026-07", D(2026, 7, 10), today=TODAY)
    assert [dict(x.condition_stages) for x in s3.invitations] == [{"DM": 3, "HYP": 1}]
    confirm_batch(db, s3.batch.id, today=TODAY)
    assert {(STAGE[3], D(2026, 7, 10)), (HYP, D(2026, 7, 10))} <= live_codes(db, pid)
    # then HYP's own 2nd letter: its exception is reachable
    s4 = plan_batch(db, 2, "2026-07", D(2026, 7, 24), today=TODAY)
    assert [dict(x.condition_stages) for x in s4.invitations] == [{"HYP": 2}]
    confirm_batch(db, s4.batch.id, today=TODAY)
    view = patient_view(db, _nhs(db, pid), TODAY)
    assert view.status["HYP"].status == "pca_eligible"


def test_a_mid_year_condition_is_in_exactly_one_first_letter_list(db: Database) -> None:
    """Catch-ups go in the current month's list only, so Home's months add up."""
    from engine_seed import AST_REVIEW

    seed = Seeder(db)
    august, _ = seed.patient(conditions=("AST",), dob=D(1950, 8, 3), family="Able")
    february, feb_nhs = seed.patient(conditions=("AST",), dob=D(1950, 2, 3), family="Baker")
    aug = plan_batch(db, 1, "2026-08", D(2026, 8, 10), today=TODAY)
    confirm_batch(db, aug.batch.id, today=TODAY)
    invite_patient(db, feb_nhs, 1, D(2026, 6, 5), today=TODAY)
    seed.events((august, D(2026, 8, 20), AST_REVIEW), (february, D(2026, 6, 20), AST_REVIEW))
    seed.register(august, "HYP", diagnosed_on=D(2026, 10, 1))
    seed.register(february, "HYP", diagnosed_on=D(2026, 7, 1))
    months = ["2026-08", "2026-09", "2026-10", "2026-11"]
    options = due_options(db, TODAY, months=months)
    assert {o.month: o.due for o in options if o.stage == 1} == {"2026-11": 2}
    assert stage_totals(options)[0].due == 2
    nov = plan_batch(db, 1, "2026-11", TODAY, today=TODAY)
    assert {x.patient_id: dict(x.condition_stages) for x in nov.invitations} == {
        august: {"HYP": 1},
        february: {"HYP": 1},
    }
    assert nov.excluded == []


def test_a_sent_first_letter_list_keeps_its_line_and_adds_nothing_to_the_counts(
    db: Database,
) -> None:
    """The same catch-up case as above, for the chooser of letters (`with_sent`): August's
    1st letters, sent, keep their line, marked sent with the day and how many, but are due
    nothing, so the months still add up to Home's count and the catch-up is in one list."""
    from engine_seed import AST_REVIEW

    seed = Seeder(db)
    august, _ = seed.patient(conditions=("AST",), dob=D(1950, 8, 3), family="Able")
    february, feb_nhs = seed.patient(conditions=("AST",), dob=D(1950, 2, 3), family="Baker")
    aug = plan_batch(db, 1, "2026-08", D(2026, 8, 10), today=TODAY)
    confirm_batch(db, aug.batch.id, today=TODAY)
    invite_patient(db, feb_nhs, 1, D(2026, 6, 5), today=TODAY)  # ad hoc: no monthly line
    seed.events((august, D(2026, 8, 20), AST_REVIEW), (february, D(2026, 6, 20), AST_REVIEW))
    seed.register(august, "HYP", diagnosed_on=D(2026, 10, 1))
    seed.register(february, "HYP", diagnosed_on=D(2026, 7, 1))
    months = ["2026-08", "2026-09", "2026-10", "2026-11"]
    due = due_options(db, TODAY, months=months)
    shown = due_options(db, TODAY, months=months, with_sent=True)
    first = {o.month: o for o in shown if o.stage == 1}
    assert {m: o.due for m, o in first.items()} == {"2026-08": 0, "2026-11": 2}
    sent = first["2026-08"]
    assert sent.done and not first["2026-11"].done
    assert [(s.batch_id, s.sent_on, s.patients, s.texts) for s in sent.sent] == [
        (aug.batch.id, D(2026, 8, 10), 1, 0)
    ]
    assert [o for o in shown if not o.done] == due  # the lines due are the same, in order
    assert stage_totals(shown) == stage_totals(due)  # a sent line counts as due for nobody
    assert stage_totals(shown)[0].due == 2


def test_a_run_keeps_its_place_in_the_chooser_once_sent(db: Database) -> None:
    """Sending November's 1st letters leaves every line where it was: November's line is
    marked sent (nobody else due), and Home's 1st-letter count drops by exactly its letters."""
    seed = Seeder(db)
    seed.patient(conditions=("HYP",), dob=D(1950, 11, 3), family="Able")
    seed.patient(conditions=("HYP",), dob=D(1951, 11, 9), family="Baker")
    seed.patient(conditions=("HYP",), dob=D(1950, 10, 3), family="Cole")
    before = due_options(db, TODAY, with_sent=True)
    assert [(o.stage, o.month, o.due) for o in before] == [(1, "2026-11", 2), (1, "2026-10", 1)]
    nov = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    confirm_batch(db, nov.batch.id, today=TODAY)
    after = due_options(db, TODAY, with_sent=True)
    assert [(o.stage, o.month) for o in after[:2]] == [(o.stage, o.month) for o in before]
    # below them, new: the 2nd letters those two now wait for
    assert [(o.stage, o.due, o.waiting) for o in after[2:]] == [(2, 0, 2)]
    line = after[0]
    assert line.done and line.due == 0 and line.batch_status == "sent"
    assert [(s.sent_on, s.patients) for s in line.sent] == [(D(2026, 11, 20), 2)]
    assert stage_totals(after)[0].due == stage_totals(before)[0].due - 2 == 1
    assert [(o.stage, o.month) for o in due_options(db, TODAY)] == [(1, "2026-10"), (2, "2026-11")]


def _nhs(db: Database, pid: int) -> str:
    from recall.store.models import patient_t

    with db.read() as s:
        return str(s.scalar(select(patient_t.c.nhs_number).where(patient_t.c.id == pid)))


def test_patient_with_no_address_and_no_mobile_is_not_coded(db: Database) -> None:
    seed = Seeder(db)
    nowhere, _ = seed.patient(conditions=("HYP",), address_line1=None, postcode=None)
    posted, _ = seed.patient(conditions=("HYP",))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    assert [x.patient_id for x in plan.invitations] == [posted]
    phone = {e.patient_id: e for e in plan.excluded}[nowhere]
    assert phone.channel == "phone" and "contact by phone" in phone.reason
    confirm_batch(db, plan.batch.id, today=TODAY)
    assert live_codes(db, nowhere) == set()


def test_condition_code_already_on_the_send_date_is_the_same_invitation(db: Database) -> None:
    seed = Seeder(db)
    pid, _ = seed.patient(conditions=("HYP", "DM"))
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    seed.events((pid, D(2026, 11, 20), HYP))  # keyed in by hand that morning
    result = confirm_batch(db, plan.batch.id, today=TODAY)
    assert live_codes(db, pid) == {(STAGE[1], D(2026, 11, 20)), (DM, D(2026, 11, 20))}
    assert {c.condition for c in result.codes} == {None, "DM"}


def test_refused_adhoc_invitation_leaves_no_batch(db: Database) -> None:
    seed = Seeder(db)
    _pid, nhs = seed.patient(conditions=("HYP",))
    invite_patient(db, nhs, 1, D(2026, 11, 20), today=TODAY)
    with pytest.raises(Refused):
        invite_patient(db, nhs, 2, D(2026, 11, 24), today=TODAY)  # 4 days later
    with pytest.raises(Refused, match="future"):
        invite_patient(db, nhs, 2, D(2026, 12, 24), today=TODAY)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(batch_t)) == 1


def test_adhoc_invitation_for_a_letter_already_sent_today_is_refused_by_batch(
    db: Database,
) -> None:
    """The same patient invited again the day batch 1 went out: refused, naming the batch,
    for the same stage and for the next one; no empty 'sent' batch is left behind."""
    seed = Seeder(db)
    _pid, nhs = seed.patient(conditions=("HYP",))
    first = plan_batch(db, 1, "2026-11", TODAY, today=TODAY)
    confirm_batch(db, first.batch.id, today=TODAY)
    with pytest.raises(Refused, match=f"already in batch {first.batch.id}"):
        invite_patient(db, nhs, 1, TODAY, today=TODAY)
    with pytest.raises(Refused, match=f"batch {first.batch.id}.*2nd can follow"):
        invite_patient(db, nhs, 2, TODAY, today=TODAY)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(batch_t)) == 1


def test_adhoc_invitation_that_could_not_be_sent_is_refused(db: Database) -> None:
    """No address and no mobile: the rule puts the patient on the phone list, so an ad-hoc
    invitation records nothing and says why (it used to record an empty batch as sent)."""
    seed = Seeder(db)
    _pid, nhs = seed.patient(conditions=("HYP",), address_line1=None, postcode=None)
    with pytest.raises(Refused, match="nothing was recorded"):
        invite_patient(db, nhs, 1, TODAY, today=TODAY)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(batch_t)) == 0


def test_second_letter_date_uses_the_practice_interval(db: Database) -> None:
    seed = Seeder(db)
    pid, nhs = seed.patient(conditions=("HYP",))
    seed.settings(stage_interval_days=21)
    seed.events((pid, D(2026, 11, 20), HYP))
    view = patient_view(db, nhs, TODAY)
    assert view.status["HYP"].earliest_second == D(2026, 12, 11)
    assert "can go from 2026-12-11" in view.status["HYP"].next_step


def test_backfill_never_adds_a_code_it_calls_too_close() -> None:
    day = D(2026, 6, 1)
    journal = PatientJournal(
        patient_id=1,
        specific={"HYP": frozenset({day})},
        stages={day + dt.timedelta(days=3): frozenset({2})},
        registers=(RegisterSpan("HYP"),),
    )
    from recall.domain.backfill import BackfillRules

    rules = BackfillRules(stage_codes=STAGE, record_codes={"HYP": {1: HYP, 2: HYP, 3: HYP}})
    plan = plan_patient(journal, rules, Window(D(2026, 4, 1), D(2026, 11, 27)))
    assert not [i for i in plan.items if i.condition == "HYP"]
    assert any("at least 7 days apart" in b.why for b in plan.blocked)


def test_generic_only_is_shown_only_where_backfill_can_fix_it(db: Database) -> None:
    seed = Seeder(db)
    hyp, hyp_nhs = seed.patient(conditions=("HYP",))
    ost, ost_nhs = seed.patient(conditions=("OST",))
    seed.events((hyp, D(2026, 9, 1), STAGE[1]), (ost, D(2026, 9, 1), GENERIC_CTV3))
    hyp_view = patient_view(db, hyp_nhs, TODAY).status["HYP"]
    assert hyp_view.status == "generic_only" and "backfill can add" in hyp_view.plain
    ost_view = patient_view(db, ost_nhs, TODAY).status["OST"]
    assert ost_view.status == "not_invited" and "backfill" not in ost_view.plain


def test_second_letters_hold_every_non_responder_and_home_agrees(db: Database) -> None:
    seed = Seeder(db)
    ids = []
    for month in (4, 7, 11):  # recall months April, July, November
        pid, _ = seed.patient(conditions=("HYP",), dob=D(1950, month, 3))
        seed.events((pid, D(2026, month, 5), HYP))
        ids.append(pid)
    options = due_options(db, TODAY)
    second = stage_totals(options)[1]
    plan = plan_batch(db, 2, "2026-11", TODAY, today=TODAY)
    assert sorted(x.patient_id for x in plan.invitations) == sorted(ids)
    assert second.due == len(plan.invitations) == 3
    assert pca_report(db, TODAY, today=TODAY).need_second_by_year_end == 3


def test_the_confirm_screen_lists_exactly_the_codes_confirm_records(db: Database) -> None:
    from collections import Counter

    from recall.services.views.run_view import codes_to_record

    seed = Seeder(db)
    same_day, _ = seed.patient(conditions=("HYP", "DM"), family="Able")
    seed.patient(conditions=("HYP",), family="Baker")
    plan = plan_batch(db, 1, "2026-11", D(2026, 11, 20), today=TODAY)
    seed.events((same_day, D(2026, 11, 20), HYP))  # the same invitation, keyed in by hand
    shown = {(p.code, p.count) for p in codes_to_record(db, plan.batch.id)}
    confirm_batch(db, plan.batch.id, today=TODAY)
    r = recorded_code_t
    with db.read() as s:
        recorded = Counter(
            s.execute(select(r.c.code).where(r.c.batch_id == plan.batch.id)).scalars()
        )
    assert shown == set(recorded.items()) == {(STAGE[1], 2), (HYP, 1), (DM, 1)}


def test_home_and_recall_pca_agree_on_the_2nd_letter_backlog_in_the_demo(demo_url: str) -> None:
    from recall.services.views.dashboard import pca_bars
    from recall.services.views.year_view import year_dashboard

    db = Database(demo_url)
    try:
        second = stage_totals(due_options(db, TODAY))[1]
        plan = plan_batch(db, 2, "2026-11", TODAY, today=TODAY)
        assert second.due == len(plan.invitations) > 0  # Home's count is what the list opens with
        bars = pca_bars(db, TODAY)
        backlog = sum(b.need_second for b in bars)
        report = pca_report(db, TODAY, today=TODAY)
        assert backlog == report.need_second_by_year_end > 0
        assert year_dashboard(db, TODAY).backlog == backlog  # the year screen's "2nd due"
        # no backlog where a 2nd letter excepts nobody: not yet codeable (AF, HF) or no PCA
        # this year (depression); the not-yet-codeable ones are counted apart
        assert all(b.need_second == 0 for b in bars if not b.can_except)
        assert report.need_second_when_codeable > 0
        assert report.as_json()["need_second_when_codeable"] == report.need_second_when_codeable
    finally:
        db.dispose()


def test_cli_confirm_says_which_letters_to_keep_out_of_the_post(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from recall.cli import main

    seed = Seeder(db)
    seed.patient(conditions=("HYP",), family="Able")
    _out, nhs = seed.patient(conditions=("HYP",), family="Baker")
    plan = plan_batch(db, 1, "2026-11", TODAY, today=TODAY)
    render_batch_letters(db, plan.batch.id, tmp_path / "out", TODAY, pdf=False)
    capsys.readouterr()
    args = ["--db", db.url, "batch", "confirm", str(plan.batch.id), "--sent-on", str(TODAY)]
    assert main([*args, "--exclude", nhs, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["take_out"] == ["letter 2 (Ann Baker): excluded by staff at confirm"]


def test_a_patient_staff_left_out_is_listed_again_with_the_earlier_reason(db: Database) -> None:
    """Unticked in batch 1 ('in hospital'), still due: the next list says so instead of
    bringing the patient back silently."""
    from recall.services.views.run_view import open_review, set_included

    seed = Seeder(db)
    held, _ = seed.patient(conditions=("HYP",), family="Able")
    seed.patient(conditions=("HYP",), family="Baker")
    first = open_review(db, 1, "2026-11", today=TODAY)
    set_included(db, first.batch.id, held, False, "in hospital")
    confirm_batch(db, first.batch.id, today=TODAY)
    again = open_review(db, 1, "2026-11", today=TODAY)
    assert again.batch.id != first.batch.id
    row = next(r for r in again.rows if r.patient_id == held)
    assert row.included
    assert f"left out of batch {first.batch.id}" in row.earlier
    assert "in hospital" in row.earlier
    assert all(not r.earlier for r in again.rows if r.patient_id != held)
