"""What the home screen and the monthly-run chooser show, read-only, from the other services.

The terminal UI never queries the database itself. The home screen asks for the cheap
`Dashboard` first, then `due_options` (who is due which letter), `pca_bars` (the year's
progress) and `tidy_up_gain`, so each panel fills in as soon as its numbers are ready.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from recall.domain.qof_year import qof_year_of
from recall.services.backfill import plan_backfill
from recall.services.batches.plan import preview
from recall.services.catalogue import load_catalogue
from recall.services.pca_report import pca_report
from recall.services.practice_scope import resolve_practice_id
from recall.services.settings import PracticeSettings, get_settings
from recall.services.views.settings_view import ConditionReadiness, readiness_rows
from recall.store.batches_repo import live_batches, made_not_sent, sent_monthly
from recall.store.db import Database
from recall.store.models import patient_t, recorded_code_t

MONTHS_BACK = 3  # cohorts looked at for 2nd/3rd letters: this month and the three before


@dataclass(frozen=True)
class StageDue:
    """How many patients are due a letter at one stage this month."""

    stage: int
    due: int
    waiting: int  # not yet due: their previous letter went out less than the interval ago
    next_due: dt.date | None = None


@dataclass(frozen=True)
class SentLetters:
    """One batch of a run recorded as sent: when, and to how many patients (texts among them)."""

    batch_id: int
    sent_on: dt.date
    patients: int
    texts: int = 0

    @property
    def letters(self) -> int:
        return self.patients - self.texts


@dataclass(frozen=True)
class RunOption:
    """One monthly run staff could do today: a stage for a recall month's cohort."""

    stage: int
    month: str  # the recall cohort, YYYY-MM
    due: int
    waiting: int = 0  # previous letter went less than the interval ago
    next_due: dt.date | None = None
    batch_id: int | None = None  # a batch for this cohort and stage already exists
    batch_status: str | None = None  # planned | sent
    sent: tuple[SentLetters, ...] = ()  # this run's batches already sent, oldest first
    made_on: dt.date | None = None  # its list's letters were made that day, not yet sent
    in_letters: int = 0  # how many patients those letters were made for

    @property
    def started(self) -> bool:
        return self.batch_status == "planned"

    @property
    def done(self) -> bool:
        """Sent, and nobody else is due it now: a line kept only to show it went out."""
        return bool(self.sent) and self.due == 0 and not self.started


@dataclass(frozen=True)
class PcaBar:
    """One condition's position in the QOF year, for a stacked progress bar."""

    key: str
    name: str
    register: int
    achieved: int
    eligible: int  # can be excepted (recall pca's can_be_excepted): 0 where nobody can be
    invited_once: int
    not_invited: int
    other: int = 0  # generic-only or too-close invitations (fixable)
    ready: bool = True  # the tool can code this condition
    need_second: int = 0  # invited once; a 2nd by 31 March makes them eligible (recall pca)
    pca_applies: bool = True  # this QOF year excepts the condition's indicators by invitation
    invited_twice: int = 0  # invited twice 7+ days apart where that excepts nobody (can_except)

    @property
    def can_except(self) -> bool:
        """Whether anyone can be excepted for this condition this QOF year: PCA applies and
        the tool can code it. Where not, its patients invited twice are only invited."""
        return self.pca_applies and self.ready


@dataclass(frozen=True)
class UnsentLetters:
    """A batch whose letters were made but not recorded as sent: no codes exist for it yet."""

    batch_id: int
    kind: str  # monthly | adhoc
    stage: int
    month: str  # the recall cohort, YYYY-MM
    made_on: dt.date
    patients: int


@dataclass(frozen=True)
class Dashboard:
    practice_name: str
    today: dt.date
    qof_year: str
    days_left: int
    patients: int
    blocked: tuple[ConditionReadiness, ...] = ()
    unreconciled: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    unsent: tuple[UnsentLetters, ...] = ()

    @property
    def month_name(self) -> str:
        return self.today.strftime("%B")


LETTERHEAD_NOTE = (
    "The practice's name, address or phone number is not set, so letters would go out "
    "without them. Press s to fill them in."
)


def _letterhead_missing(settings: PracticeSettings) -> bool:
    """Letters print the practice's details: warn before a batch goes out without them."""
    default_name = PracticeSettings().practice_name
    return (
        settings.practice_name in ("", default_name) or not settings.address or not settings.phone
    )


def _counts(db: Database, practice_id: int | None) -> tuple[str, int, int, bool]:
    with db.read() as session:
        pid = resolve_practice_id(session, practice_id)
        settings = get_settings(session, pid)
        patients = session.scalar(
            select(func.count()).select_from(patient_t).where(patient_t.c.practice_id == pid)
        )
        unreconciled = session.scalar(
            select(func.count())
            .select_from(recorded_code_t)
            .join(patient_t, patient_t.c.id == recorded_code_t.c.patient_id)
            .where(
                patient_t.c.practice_id == pid,
                recorded_code_t.c.voided.is_(False),
                recorded_code_t.c.reconciled.is_(False),
            )
        )
    return (
        settings.practice_name,
        int(patients or 0),
        int(unreconciled or 0),
        _letterhead_missing(settings),
    )


def unsent_letters(db: Database, *, practice_id: int | None = None) -> tuple[UnsentLetters, ...]:
    """Letters made but not recorded as sent: until they are, no code is recorded for them."""
    with db.read() as session:
        rows = made_not_sent(session, resolve_practice_id(session, practice_id))
    return tuple(
        UnsentLetters(
            batch_id=r.id,
            kind=r.kind,
            stage=r.stage,
            month=r.cohort_month,
            made_on=r.letters_made_on,
            patients=int(r.patients or 0),
        )
        for r in rows
    )


def _month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _cohort_months(today: dt.date, back: int = MONTHS_BACK) -> list[str]:
    """This month and up to `back` months before it, within the QOF year (oldest first)."""
    year = qof_year_of(today)
    out = []
    y, m = today.year, today.month
    for _ in range(back + 1):
        day = dt.date(y, m, 1)
        if day < year.start:
            break
        out.append(_month_key(day))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(out))


def due_options(
    db: Database,
    today: dt.date | None = None,
    *,
    months: list[str] | None = None,
    practice_id: int | None = None,
    with_sent: bool = False,
) -> list[RunOption]:
    """Who is due which letter if it went out today: the lists staff can open.

    1st letters per recall month (this month and the few before it, or `months`); 2nd and
    3rd letters once each, for every non-responder whose next stage is due whatever their
    recall month (the whole year's backlog). Each count is exactly what planning that list
    would invite (the same rule, the same placement); nothing is written.

    `with_sent` also keeps the runs already sent that nobody else is due (`done`, due 0),
    where they stood while they were due, so the chooser's lines do not move once a run is
    sent. They add nothing to any count: `stage_totals` is the same with or without them.
    """
    today = today or dt.date.today()
    this_month = _month_key(today)
    out: list[RunOption] = []
    with db.read() as session:
        pid = resolve_practice_id(session, practice_id)
        existing = {(m, st): (bid, status) for bid, m, st, status in live_batches(session, pid)}
        wanted = [(1, m) for m in months or _cohort_months(today)]
        wanted += [(2, this_month), (3, this_month)]
        sent: dict[tuple[str, int], list[SentLetters]] = {}
        for r in sent_monthly(session, pid, {m for _, m in wanted}):
            sent.setdefault((r.cohort_month, r.stage), []).append(
                SentLetters(r.id, r.sent_on, int(r.sent or 0), int(r.texts or 0))
            )
        made = {
            (r.cohort_month, r.stage): (r.letters_made_on, int(r.patients or 0))
            for r in made_not_sent(session, pid)
            if r.kind == "monthly"
        }
        for stage, month in wanted:
            batch = existing.get((month, stage))
            planned_id = batch[0] if batch and batch[1] == "planned" else None
            seen = preview(
                session,
                practice_id=pid,
                kind="monthly",
                stage=stage,
                month=month,
                send_date=today,
                batch_id=planned_id,
            )
            waits = seen.waiting
            went = tuple(sent.get((month, stage), ()))
            made_on, in_letters = made.get((month, stage), (None, 0))
            if seen.due or waits or planned_id is not None or (with_sent and went):
                out.append(
                    RunOption(
                        stage=stage,
                        month=month,
                        due=seen.due,
                        waiting=len(waits),
                        next_due=min(waits) if waits else None,
                        batch_id=batch[0] if batch else None,
                        batch_status=batch[1] if batch else None,
                        sent=went,
                        made_on=made_on,
                        in_letters=in_letters,
                    )
                )

    def order(o: RunOption) -> tuple[bool, bool, int, str]:
        # what is due (or was, and went out) first; this month's 1st letters first of all;
        # then oldest month first. A run keeps its place once sent.
        idle = o.due == 0 and not o.started and not o.sent
        return (idle, o.month != this_month, o.stage, o.month)

    return sorted(out, key=order)


def stage_totals(options: list[RunOption]) -> tuple[StageDue, ...]:
    """Due and waiting counts per stage, over all the recall months looked at."""
    out = []
    for stage in (1, 2, 3):
        opts = [o for o in options if o.stage == stage]
        nexts = [o.next_due for o in opts if o.next_due]
        out.append(
            StageDue(
                stage,
                sum(o.due for o in opts),
                sum(o.waiting for o in opts),
                min(nexts) if nexts else None,
            )
        )
    return tuple(out)


def pca_bars(
    db: Database, today: dt.date | None = None, *, practice_id: int | None = None
) -> tuple[PcaBar, ...]:
    """Per condition with register patients: the year's PCA status counts."""
    report = pca_report(db, today=today or dt.date.today(), practice_id=practice_id)
    bars = []
    for c in report.conditions.values():
        if not c.register:
            continue
        n = c.counts
        bars.append(
            PcaBar(
                key=c.key,
                name=c.name,
                register=c.register,
                achieved=n.get("achieved", 0),
                eligible=c.can_be_excepted,
                invited_once=n.get("invited_once", 0),
                not_invited=n.get("not_invited", 0),
                other=n.get("generic_only", 0) + n.get("invalid_interval", 0),
                ready=c.ready,
                need_second=c.need_second_by_year_end,
                pca_applies=c.pca_applies,
                invited_twice=n.get("pca_eligible", 0) - c.can_be_excepted,
            )
        )
    return tuple(bars)


def backfill_count(
    db: Database, today: dt.date | None = None, *, practice_id: int | None = None
) -> int:
    """How many codes the tidy-up (backfill) would add for this QOF year so far."""
    return tidy_up_gain(db, today, practice_id=practice_id).codes


@dataclass(frozen=True)
class TidyUpGain:
    """What the tidy-up would add this QOF year, and how many patients it makes exceptable:
    with none, it is optional record-keeping, not a task."""

    codes: int = 0
    exceptable: int = 0  # patients who can be excepted only once the codes are added
    counted: int = 0  # patients whose PCA status the codes change (e.g. their letter counts)


def tidy_up_gain(
    db: Database, today: dt.date | None = None, *, practice_id: int | None = None
) -> TidyUpGain:
    """The tidy-up's dry run for this QOF year so far, in two numbers for Home."""
    plan = plan_backfill(db, today=today or dt.date.today(), practice_id=practice_id)
    changed = len({i.patient_id for i in plan.items if i.change})
    return TidyUpGain(plan.summary.items, plan.summary.becomes_eligible_patients, changed)


def no_qof_notes(
    db: Database, today: dt.date, *, practice_id: int | None = None
) -> tuple[str, ...]:
    """Plain words for conditions this QOF year no longer excepts by invitation."""
    with db.read() as session:
        catalogue = load_catalogue(session, resolve_practice_id(session, practice_id))
    profile = catalogue.year_profile(qof_year_of(today))
    return tuple(
        f"{c.name}: {profile.qof_status(c.key)[1]}."
        for c in catalogue
        if not profile.pca_applies(c.key) and c.invite.codes
    )


def load_dashboard(
    db: Database, today: dt.date | None = None, *, practice_id: int | None = None
) -> Dashboard:
    """Everything the home screen needs for `today`, for one practice (None: the only one)."""
    today = today or dt.date.today()
    year = qof_year_of(today)
    name, patients, unreconciled, letterhead_missing = _counts(db, practice_id)
    blocked = tuple(r for r in readiness_rows(db, practice_id=practice_id) if not r.ready)
    return Dashboard(
        practice_name=name,
        today=today,
        qof_year=year.label,
        days_left=year.days_left(today),
        patients=patients,
        blocked=blocked,
        unreconciled=unreconciled,
        notes=((LETTERHEAD_NOTE,) if letterhead_missing else ())
        + no_qof_notes(db, today, practice_id=practice_id),
        unsent=unsent_letters(db, practice_id=practice_id),
    )
