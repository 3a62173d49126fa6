"""A synthetic practice to try the tool on: realistic, fictional, and the same for one seed.

Names and addresses come from Faker (en_GB) plus the awkward cases real lists contain
(apostrophes, hyphens, accents, `&` and `<`). NHS numbers are from the 999 test range, phone
numbers from Ofcom's drama ranges, emails at example.com. Registers follow English QOF
prevalence with age, so older patients have several conditions. This QOF year's journal is
written relative to `today` and exercises every path the tool handles: reviewed, invited
twice, 1st invite awaiting the 2nd, generic code only, stage code without condition code,
two invites only 5 days apart, declined, deceased and deregistered patients.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faker import Faker
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from recall.domain.care import Target, bp_part
from recall.domain.catalogue import Catalogue, Condition
from recall.domain.codes import detect_code_system
from recall.domain.qof_year import qof_year_of
from recall.outputs import OutputError, OutputSet, Protected
from recall.services.catalogue import load_catalogue
from recall.services.errors import RecallError, Refused
from recall.services.infra.database import safe_url
from recall.services.infra.operator import current_operator
from recall.services.settings import PracticeSettings, get_settings, save_settings
from recall.store.audit_repo import append_audit
from recall.store.backup import backup_sqlite
from recall.store.bulk import bulk_load, insert_ignore, insert_many
from recall.store.db import Database, sqlite_path
from recall.store.demo_repo import DEMO_NHS_PREFIX, patients_held
from recall.store.models import event_t, import_run_t, patient_t, practice_t, register_t
from recall.store.patients_repo import wipe_all_rows
from recall.store.practice_repo import get_or_create_practice
from recall.store.settings_repo import load_settings, save_setting

DEMO_MARK = "demo_practice"
DEFAULT_SEED = 2026
MAX_PATIENTS = 150_000
EVENT_COLUMNS = ("patient_id", "date", "code", "term", "code_system", "value", "import_id")

# (share of the whole list, youngest age, how steeply risk rises with age)
PREVALENCE: dict[str, tuple[float, int, float]] = {
    "HYP": (0.14, 18, 2.0),
    "DEPR": (0.13, 18, 0.0),
    "DM": (0.07, 17, 1.5),
    "NDH": (0.07, 18, 1.5),
    "AST": (0.065, 6, 0.0),
    "CKD": (0.04, 18, 3.0),
    "CAN": (0.035, 30, 2.0),
    "CHD": (0.03, 35, 2.5),
    "AF": (0.02, 40, 3.0),
    "COPD": (0.02, 35, 2.0),
    "STIA": (0.02, 35, 2.5),
    "HF": (0.01, 40, 3.0),
    "MH": (0.01, 18, 0.0),
    "DEM": (0.008, 60, 4.0),
    "OST": (0.008, 50, 2.0),
    "RA": (0.008, 16, 1.0),
    "PAD": (0.006, 40, 2.5),
    "LD": (0.005, 0, 0.0),
}

# England's list by 5-year age band (per cent, roughly ONS mid-year estimates).
AGE_BANDS = (5.5, 6, 6, 5.7, 6, 6.6, 7, 6.8, 6.4, 6.3, 6.9, 6.8, 5.9, 5.1, 4.9, 4, 2.6, 1.6, 0.9)

APOSTROPHE_NAMES = ("O'Brien", "O'Neill", "O'Connor", "D'Souza", "O'Sullivan", "O'Reilly")
ACCENTED_FAMILY = ("Núñez", "Müller", "Brontë", "Ó Súilleabháin", "Gonçalves", "Łukasik")
ACCENTED_GIVEN_F = ("Siân", "Zoë", "Chloë", "Renée", "Anaïs", "Dóra", "Amélie", "Niamh")
ACCENTED_GIVEN_M = ("José", "Seán", "Björn", "François", "Rhodri", "Jürgen", "Tomás")
HYPHEN_GIVEN_F = ("Mary-Jane", "Anne-Marie", "Lily-Mae")
HYPHEN_GIVEN_M = ("Jean-Paul", "Jon-Paul", "Lee-Roy")
AWKWARD = (
    ("Smith & Jones", "Bob"),
    ("<Unknown>", "Baby"),
    ("O'Reilly <Twin 2>", "Aoife"),
    ("Brown & Green-Núñez", "Amélie"),
)
LANGUAGES = (
    "Polish", "Urdu", "Bengali", "Punjabi", "Romanian", "Arabic", "Gujarati", "Portuguese",
    "Somali", "Lithuanian", "British Sign Language",
)  # fmt: skip

PATHS = (
    "reviewed",
    "invited_twice",
    "awaiting_second",
    "generic_only",
    "stage_code_only",
    "five_days_apart",
    "declined",
    "not_invited",
    "out_of_target",
)
PATH_WEIGHTS = (0.25, 0.2, 0.2, 0.08, 0.08, 0.04, 0.03, 0.12, 0.06)


@dataclass
class DemoResult:
    url: str
    seed: int
    today: dt.date
    practice_name: str
    patients: int
    register_entries: int
    events: int
    registers: dict[str, int] = field(default_factory=dict)
    paths: dict[str, int] = field(default_factory=dict)
    deceased: int = 0
    deregistered: int = 0
    copy: str | None = None  # where the database was copied before it was rebuilt
    ods_code: str = ""  # the practice's ODS code ("" for the single demo practice)
    clinical_system: str = "systmone"
    practices: list[DemoResult] = field(default_factory=list)  # a demo PCN's, in ODS order


@dataclass
class _Person:
    nhs: str
    family: str
    given: str
    sex: str
    dob: dt.date
    age: int
    registered_on: dt.date
    deregistered_on: dt.date | None = None
    died_on: dt.date | None = None
    conditions: list[str] = field(default_factory=list)
    recall_month: int | None = None

    @property
    def active(self) -> bool:
        return self.deregistered_on is None and self.died_on is None


def demo_settings() -> PracticeSettings:
    """A plainly fictional practice (Ofcom drama phone range, example.org)."""
    return PracticeSettings(
        practice_name="Riverside Demo Surgery",
        address=["1 Example Street", "Demotown", "DE1 9ZZ"],
        phone="01632 960 000",
        booking_url="https://example.org/book",
        email="demo.surgery@example.org",
        clinical_system="systmone",
        sms_enabled=True,
    )


@dataclass(frozen=True)
class DemoPractice:
    """One practice to build: its ODS code (None: the database's own), details and size."""

    ods_code: str | None
    settings: PracticeSettings
    patients: int


PRACTICE_SEED_STEP = 7919  # each PCN practice draws from its own generator
# (ODS code, name, clinical system, share of the PCN's patients): fictional, plainly demo
PCN_PRACTICES: tuple[tuple[str, str, str, float], ...] = (
    ("D99001", "Riverside Demo Surgery", "systmone", 0.35),
    ("D99002", "Hilltop Demo Medical Centre", "emis", 0.30),
    ("D99003", "Canal Street Demo Practice", "systmone", 0.20),
    ("D99004", "Meadowbank & St Aldhelm's Demo Health Centre", "emis", 0.15),
)
# EMIS practices code the LTC stages with their own local template codes (the EMIS profile
# ships none): the demo's are plainly local and fictional, never a SNOMED CT identifier
DEMO_EMIS_STAGE_CODES = {
    str(n): {"code": f"DEMOLTC{n}", "term": f"LTC invitation {word} letter (local demo code)"}
    for n, word in ((1, "first"), (2, "second"), (3, "third"))
}


def pcn_practices(patients: int) -> list[DemoPractice]:
    """The demo PCN: two SystmOne and two EMIS practices of different sizes."""
    out: list[DemoPractice] = []
    left = patients
    for i, (ods, name, system, share) in enumerate(PCN_PRACTICES):
        size = left if i == len(PCN_PRACTICES) - 1 else round(patients * share)
        left -= size
        settings = PracticeSettings(
            practice_name=name,
            address=[f"{i + 1} Example Street", "Demotown", f"DE{i + 1} 9ZZ"],
            phone=f"01632 960 {i:03d}",
            booking_url="https://example.org/book",
            email=f"demo.practice{i + 1}@example.org",
            clinical_system=system,
            sms_enabled=i % 2 == 0,
            stage_codes=dict(DEMO_EMIS_STAGE_CODES) if system == "emis" else {},
        )
        out.append(DemoPractice(ods, settings, size))
    return out


def _pcn_result(built: list[DemoResult]) -> DemoResult:
    """The PCN as a whole (sums), its practices inside."""
    first = built[0]
    registers: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    for b in built:
        registers.update(b.registers)
        paths.update(b.paths)
    return DemoResult(
        url=first.url,
        seed=first.seed,
        today=first.today,
        practice_name=f"Demo PCN ({len(built)} practices)",
        patients=sum(b.patients for b in built),
        register_entries=sum(b.register_entries for b in built),
        events=sum(b.events for b in built),
        registers=dict(registers),
        paths={k: paths.get(k, 0) for k in PATHS},
        deceased=sum(b.deceased for b in built),
        deregistered=sum(b.deregistered for b in built),
        copy=first.copy,
        practices=built,
    )


def is_demo(session: Session) -> bool:
    practice = get_or_create_practice(session)
    assert practice.id is not None
    return DEMO_MARK in load_settings(session, practice.id)


def demo_file_url() -> str:
    """Where `recall demo` keeps its practice when no --db is given (never the real one)."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("recall", appauthor=False))
    return f"sqlite:///{folder / 'recall-demo.db'}"


def _refuse_real_patients(foreign: int, where: str) -> Refused:
    return Refused(
        f"{where} holds {foreign:,} patients that are not demo data (imported or added by "
        "hand, not from the NHS test range the demo uses); it was left alone: build the demo "
        "in a new file: recall demo --db sqlite:////path/demo.db"
    )


def keep_copy(db: Database) -> str:
    """Copy the database before the demo rebuilds it; returns where the copy is.

    SQLite: a consistent copy beside the file (`recall-demo.before-demo-<time>.db`, 0600).
    PostgreSQL: a pg_dump archive in this database's output folder. No copy, no rebuild.
    """
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    path = sqlite_path(db.url)
    try:
        if path is not None:
            dest = path.with_name(f"{path.stem}.before-demo-{stamp}{path.suffix or '.db'}")
            backup_sqlite(path, dest, protected=Protected.database(path), owner="demo-copy")
            return str(dest)
        return _pg_dump(db, stamp)
    except OutputError as exc:
        raise Refused(f"no copy could be kept, so nothing was rebuilt: {exc}") from None


def _pg_dump(db: Database, stamp: str) -> str:
    import os
    import shutil
    import subprocess

    from sqlalchemy.engine import make_url

    from recall.services.infra.database import output_root

    tool = shutil.which("pg_dump")
    if tool is None:
        raise Refused(
            "no copy could be kept (pg_dump is not installed), so nothing was rebuilt: "
            "back the database up with pg_dump first"
        )
    u = make_url(db.url)
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = str(u.password)  # never on the command line
    target = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    folder = output_root(db) / "backups"
    name = f"before-demo-{stamp}.dump"
    with OutputSet(folder, "demo-copy", replace=False) as out:
        with out.open_path(name) as tmp:
            proc = subprocess.run(
                [tool, "--format=custom", f"--file={tmp}", f"--dbname={target}"],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=3600,
            )
            if proc.returncode != 0:
                why = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                raise Refused(f"no copy could be kept (pg_dump: {safe_url(why)}), nothing rebuilt")
        out.commit()
    return str(folder / name)


def discard_demo_file(url: str) -> str | None:
    """Set the default demo file aside so it can be rebuilt: a copy is kept first, and a
    file holding any patient the demo did not generate is refused. Returns the copy's path."""
    path = sqlite_path(url)
    if path is None or not path.exists():
        return None
    db = Database(url)
    try:
        with db.read() as session:
            held, foreign = patients_held(session)
        if foreign:
            raise _refuse_real_patients(foreign, str(path))
        copy = keep_copy(db) if held else None
    finally:
        db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return copy


# -- generation ----------------------------------------------------------------------------


def _nhs_numbers(rng: random.Random, n: int, after: int | None = None) -> list[str]:
    """`n` valid numbers from the test range, rising; a PCN's next practice starts `after`
    the last body of the one before, so no patient is on two practices' lists."""
    body = int(DEMO_NHS_PREFIX) * 1_000_000 + rng.randrange(0, 100_000)  # the test range only
    if after is not None:
        body = after
    out: list[str] = []
    while len(out) < n:
        body += rng.randint(1, 5)
        digits = f"{body:09d}"
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(digits)) % 11
        if check == 11:
            check = 0
        if check != 10:
            out.append(digits + str(check))
    return out


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


class _Pools:
    def __init__(self, fake: Faker) -> None:
        self.family = [fake.last_name() for _ in range(600)]
        self.given_f = [fake.first_name_female() for _ in range(300)]
        self.given_m = [fake.first_name_male() for _ in range(300)]
        self.streets = [fake.street_name() for _ in range(400)]
        self.towns = [fake.city() for _ in range(40)]
        self.postcodes = [fake.postcode() for _ in range(1500)]


def _name(rng: random.Random, pools: _Pools, sex: str) -> tuple[str, str]:
    r = rng.random()
    if r < 0.04:
        family = rng.choice(APOSTROPHE_NAMES)
    elif r < 0.09:
        family = f"{rng.choice(pools.family)}-{rng.choice(pools.family)}"
    elif r < 0.12:
        family = rng.choice(ACCENTED_FAMILY)
    else:
        family = rng.choice(pools.family)
    r = rng.random()
    female = sex == "F"
    if r < 0.05:
        given = rng.choice(ACCENTED_GIVEN_F if female else ACCENTED_GIVEN_M)
    elif r < 0.07:
        given = rng.choice(HYPHEN_GIVEN_F if female else HYPHEN_GIVEN_M)
    else:
        given = rng.choice(pools.given_f if female else pools.given_m)
    return family, given


def _people(
    rng: random.Random, pools: _Pools, n: int, today: dt.date, after: int | None = None
) -> list[_Person]:
    numbers = _nhs_numbers(rng, n, after)
    people: list[_Person] = []
    awkward_at = {rng.randrange(n): i for i in range(min(len(AWKWARD), n))}
    for i, nhs in enumerate(numbers):
        band = rng.choices(range(len(AGE_BANDS)), weights=AGE_BANDS)[0]
        age = min(band * 5 + rng.randrange(5 if band < len(AGE_BANDS) - 1 else 12), 104)
        dob = today - dt.timedelta(days=age * 365 + rng.randrange(365) + age // 4)
        sex = "F" if rng.random() < 0.505 else "M"
        family, given = _name(rng, pools, sex)
        if i in awkward_at:
            family, given = AWKWARD[awkward_at[i]]
        earliest = max(dob, today - dt.timedelta(days=40 * 365))
        registered = _between(rng, earliest, today - dt.timedelta(days=60))
        if rng.random() < 0.03:
            registered = _between(rng, today - dt.timedelta(days=90), today - dt.timedelta(days=1))
        person = _Person(nhs, family, given, sex, dob, age, max(registered, dob))
        r = rng.random()
        if r < 0.004 * (1 + age / 40):
            person.died_on = _between(
                rng, today - dt.timedelta(days=300), today - dt.timedelta(days=2)
            )
        elif r < 0.02:
            person.deregistered_on = _between(
                rng, today - dt.timedelta(days=300), today - dt.timedelta(days=2)
            )
        if rng.random() < 0.01:
            person.recall_month = rng.randint(1, 12)
        people.append(person)
    return people


def _assign_registers(rng: random.Random, people: list[_Person], keys: list[str]) -> None:
    for key in keys:
        if key not in PREVALENCE:
            continue
        share, min_age, power = PREVALENCE[key]
        weights = [
            0.0 if p.age < min_age else ((p.age - min_age + 5) / 50) ** power for p in people
        ]
        total = sum(weights)
        if not total:
            continue
        scale = share * len(people) / total
        for person, w in zip(people, weights, strict=True):
            if w and rng.random() < min(0.95, w * scale):
                person.conditions.append(key)


def _patient_row(rng: random.Random, pools: _Pools, p: _Person, practice_id: int) -> dict[str, Any]:
    adult = p.age >= 16
    needs: list[str] = []
    if rng.random() < (0.08 if p.age >= 75 else 0.02):
        needs.append("large_print")
    if "LD" in p.conditions or rng.random() < 0.005:
        needs.append("easy_read")
    if rng.random() < 0.001:
        needs.append("braille")
    if rng.random() < 0.02:
        needs.append(f"interpreter:{rng.choice(LANGUAGES)}")
    mobile = None
    if adult and rng.random() < 0.78:
        mobile = f"07700 900{rng.randrange(1000):03d}"
        if rng.random() < 0.04:
            needs.append("no_sms")
        elif rng.random() < 0.006:
            needs.append("no_letter")
    if adult:
        title = ("Ms" if rng.random() < 0.4 else "Mrs") if p.sex == "F" else "Mr"
        if rng.random() < 0.01:
            title = "Dr"
    else:
        title = "Miss" if p.sex == "F" else "Master"
    flat = rng.random() < 0.15
    return {
        "practice_id": practice_id,
        "nhs_number": p.nhs,
        "family_name": p.family,
        "given_name": p.given,
        "date_of_birth": p.dob,
        "title": title,
        "sex": p.sex,
        "address_line1": f"Flat {rng.randint(1, 30)}" if flat else None,
        "address_line2": f"{rng.randint(1, 240)} {rng.choice(pools.streets)}",
        "address_line3": None,
        "address_line4": rng.choice(pools.towns),
        "postcode": rng.choice(pools.postcodes),
        "mobile": mobile,
        "email": f"patient{p.nhs[-6:]}@example.com" if adult and rng.random() < 0.4 else None,
        "registered_on": p.registered_on,
        "deregistered_on": p.deregistered_on,
        "date_of_death": p.died_on,
        "recall_month": p.recall_month,
        "communication_needs": ";".join(needs),
    }


class _Journal:
    """Builds event rows for one patient from the catalogue and profile (no code literals)."""

    def __init__(self, catalogue: Catalogue, today: dt.date) -> None:
        self.catalogue = catalogue
        self.today = today
        profile = catalogue.profile
        self.stage = {n: profile.stage_code(n) for n in (1, 2, 3)}
        self.generic = profile.generic_record_code
        self.rows: list[tuple[int, dt.date, str, str, str, str | None]] = []

    def add(self, pid: int, day: dt.date, code: str, term: str, value: str | None = None) -> None:
        if day <= self.today:
            self.rows.append((pid, day, code, term, detect_code_system(code).value, value))

    def invite(self, pid: int, day: dt.date, stage: int, conds: list[Condition]) -> None:
        sc = self.stage.get(stage)
        if sc is not None:
            self.add(pid, day, sc.code, sc.term)
        for c in conds:
            code = c.record_code_for(stage)
            if code:
                self.add(pid, day, code, c.invite.term(code))

    def stage_only(self, pid: int, day: dt.date) -> None:
        sc = self.stage.get(1)
        if sc is not None:
            self.add(pid, day, sc.code, sc.term)

    def generic_only(self, pid: int, day: dt.date) -> None:
        if self.generic is not None:
            self.add(pid, day, self.generic.code, self.generic.term)

    def review(
        self, pid: int, day: dt.date, cond: Condition, target: Target | None = None, ok: bool = True
    ) -> None:
        """The condition's care code; for a measured one a reading in (or out of) target."""
        if not cond.review.codes:
            return
        codes = sorted(cond.review.codes)
        if target is None or not target.bands:
            self.add(pid, day, codes[0], cond.review.term(codes[0]))
            return
        limits = target.bands[0].limits
        whole = [c for c in codes if not bp_part(cond.review.term(c))]
        code = next((c for c in whole if "reading" in cond.review.term(c).lower()), codes[0])
        step = -8 if ok else 12
        value = "/".join(str(int(v) + step) for v in limits)
        self.add(pid, day, code, cond.review.term(code), value)

    def decline(self, pid: int, day: dt.date, cond: Condition) -> bool:
        for cl in cond.declines:
            for code, term in sorted(cl.codes.items()):
                self.add(pid, day, code, term)
                return True
        return False


def _pick_path(rng: random.Random, forced: list[str], reviewable: bool, measured: bool) -> str:
    """The demo history of one patient: each path once first (where it fits), then at random."""
    if forced and (forced[0] != "reviewed" or reviewable):
        if forced[0] != "out_of_target" or measured:
            path = forced.pop(0)
        else:
            path = rng.choices(PATHS, weights=PATH_WEIGHTS)[0]
    else:
        path = rng.choices(PATHS, weights=PATH_WEIGHTS)[0]
    if path == "reviewed" and not reviewable:
        return "invited_twice"
    if path == "out_of_target" and not measured:
        return "awaiting_second"
    return path


def _history(
    rng: random.Random,
    people: list[_Person],
    ids: dict[str, int],
    catalogue: Catalogue,
    today: dt.date,
) -> tuple[list[tuple[int, dt.date, str, str, str, str | None]], Counter[str]]:
    year = qof_year_of(today)
    invitable = {
        c.key: c
        for c in catalogue
        if c.invite.codes and c.record_code and c.record_code in c.invite
    }
    journal = _Journal(catalogue, today)
    targets = catalogue.targets(year)
    paths: Counter[str] = Counter()
    forced = list(PATHS)
    for p in people:
        conds = [invitable[k] for k in p.conditions if k in invitable]
        if not conds:
            continue
        pid = ids[p.nhs]
        month = p.recall_month or p.dob.month
        start_year = year.start_year if month >= 4 else year.start_year + 1
        month_start = dt.date(start_year, month, 1)
        # last year's invitations: they must not count this year
        if rng.random() < 0.3:
            journal.invite(pid, _add_years(month_start, -1) + dt.timedelta(days=3), 1, conds)
        if not p.active or month_start > today - dt.timedelta(days=3):
            continue
        reviewable = [c for c in conds if c.review.codes]
        measured = [c for c in reviewable if c.key in targets]
        path = _pick_path(rng, forced, bool(reviewable), bool(measured))
        d1 = min(month_start + dt.timedelta(days=rng.randrange(10)), today - dt.timedelta(days=1))
        gap = rng.randint(14, 21)
        if path == "reviewed":
            journal.invite(pid, d1, 1, conds)
            first = reviewable[0]
            journal.review(
                pid,
                min(d1 + dt.timedelta(days=rng.randint(5, 40)), today),
                first,
                targets.get(first.key),
            )
        elif path == "out_of_target":
            # invited, then a reading out of target: that invitation no longer counts, and
            # the patient is due again
            d1 = min(d1, today - dt.timedelta(days=3))
            journal.invite(pid, d1, 1, conds)
            journal.review(
                pid,
                _between(rng, d1 + dt.timedelta(days=1), today),
                measured[0],
                targets[measured[0].key],
                ok=False,
            )
        elif path == "invited_twice":
            journal.invite(pid, d1, 1, conds)
            journal.invite(pid, d1 + dt.timedelta(days=gap), 2, conds)
            if rng.random() < 0.4:
                journal.invite(pid, d1 + dt.timedelta(days=2 * gap), 3, conds)
        elif path == "awaiting_second":
            recent = _between(
                rng, max(d1, today - dt.timedelta(days=30)), today - dt.timedelta(days=1)
            )
            journal.invite(pid, recent, 1, conds)
        elif path == "generic_only":
            journal.generic_only(pid, d1)
        elif path == "stage_code_only":
            journal.stage_only(pid, d1)
        elif path == "five_days_apart":
            d1 = min(d1, today - dt.timedelta(days=6))
            journal.invite(pid, d1, 1, conds)
            journal.invite(pid, d1 + dt.timedelta(days=5), 2, conds)
        elif path == "declined" and not journal.decline(pid, d1, conds[0]):
            path = "not_invited"
        paths[path] += 1
    return journal.rows, paths


def _save_demo_settings(
    session: Session,
    practice_id: int,
    operator: str,
    mark: dict[str, Any],
    settings: PracticeSettings,
) -> PracticeSettings:
    """The demo practice's details, keeping code choices made before the demo."""
    session.execute(
        update(practice_t).where(practice_t.c.id == practice_id).values(name=settings.practice_name)
    )
    old = get_settings(session, practice_id)
    settings.conditions = old.conditions
    settings.stage_codes = old.stage_codes or settings.stage_codes
    save_settings(session, settings, operator=operator, practice_id=practice_id)
    save_setting(session, practice_id, DEMO_MARK, mark)
    return settings


def _register_rows(
    rng: random.Random, people: list[Any], ids: dict[str, int], today: dt.date
) -> list[dict[str, Any]]:
    """One register entry per condition, diagnosed at a plausible age, at least a month ago."""
    registers: list[dict[str, Any]] = []
    for p in people:
        for key in p.conditions:
            min_age = PREVALENCE[key][1]
            earliest = max(_add_years(p.dob, min_age), today - dt.timedelta(days=30 * 365))
            registers.append(
                {
                    "patient_id": ids[p.nhs],
                    "condition": key,
                    "diagnosed_on": _between(rng, earliest, today - dt.timedelta(days=30)),
                    "resolved_on": None,
                }
            )
    return registers


def _demo_run(
    session: Session,
    practice_id: int,
    operator: str,
    seed: int,
    patients: int,
    today: dt.date,
    rows: int,
) -> int:
    """An import row for the demo's events, as if they came from one file."""
    return int(
        session.execute(
            insert(import_run_t)
            .values(
                practice_id=practice_id,
                kind="demo",
                file_name="(demo practice)",
                sha256=hashlib.sha256(f"demo:{seed}:{patients}:{today}".encode()).hexdigest(),
                rows_read=rows,
                rows_added=rows,
                at=dt.datetime.now(dt.UTC),
                operator=operator,
            )
            .returning(import_run_t.c.id)
        ).scalar_one()
    )


def _audit_demo(
    session: Session, practice_id: int, operator: str, result: DemoResult, *, replaced: bool
) -> None:
    append_audit(
        session,
        operator=operator,
        action="demo.build",
        practice_id=practice_id,
        details={
            "seed": result.seed,
            "patients": result.patients,
            "events": result.events,
            "replaced": replaced,
            "copy_kept": result.copy is not None,
        },
    )


def _check_demo_target(db: Database, replace: bool) -> str | None:
    """Refuse real patients, or a demo without --replace; keep a copy of a demo to rebuild."""
    with db.read() as session:
        held, foreign = patients_held(session)
    if foreign:
        raise _refuse_real_patients(foreign, "this database")
    if held and not replace:
        raise Refused("this database already holds a demo practice: add --replace to rebuild it")
    return keep_copy(db) if held else None


def build_demo(
    db: Database,
    patients: int = 10_000,
    seed: int = DEFAULT_SEED,
    today: dt.date | None = None,
    *,
    replace: bool = False,
    operator: str | None = None,
    pcn: bool = False,
) -> DemoResult:
    """Fill an empty database (or rebuild a demo one with replace=True) with a demo practice,
    or with `pcn=True` a demo PCN of four practices sharing `patients` between them."""
    if not 1 <= patients <= MAX_PATIENTS:
        raise RecallError(f"the demo practice can have 1 to {MAX_PATIENTS:,} patients")
    specs = pcn_practices(patients) if pcn else [DemoPractice(None, demo_settings(), patients)]
    if any(spec.patients < 1 for spec in specs):
        raise RecallError(f"a demo PCN needs at least {len(specs)} patients")
    today = today or dt.date.today()
    operator = operator or current_operator()
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    pools = _Pools(fake)
    copy = _check_demo_target(db, replace)
    built: list[DemoResult] = []
    with db.write() as session:
        held, foreign = patients_held(session)  # again, inside the transaction
        if foreign:
            raise _refuse_real_patients(foreign, "this database")
        if held:
            wipe_all_rows(session)
        after: int | None = None
        for index, spec in enumerate(specs):
            rng = random.Random(seed + PRACTICE_SEED_STEP * index)
            practice = get_or_create_practice(session, spec.ods_code)
            assert practice.id is not None
            mark = {"seed": seed, "patients": spec.patients, "today": today.isoformat()}
            _save_demo_settings(session, practice.id, operator, mark, spec.settings)
            run = (operator, seed, today)
            result, after = _fill_practice(session, practice.id, spec, rng, pools, run, after)
            result.url, result.copy = safe_url(db.url), copy  # shown: never the password
            _audit_demo(session, practice.id, operator, result, replaced=bool(held))
            built.append(result)
    return built[0] if not pcn else _pcn_result(built)


def _fill_practice(
    session: Session,
    practice_id: int,
    spec: DemoPractice,
    rng: random.Random,
    pools: _Pools,
    run: tuple[str, int, dt.date],
    after: int | None,
) -> tuple[DemoResult, int]:
    """One demo practice's patients, registers and journal (`run`: operator, seed, today);
    returns it and its last NHS number's body, where the next practice's numbers start."""
    operator, seed, today = run
    catalogue = load_catalogue(session, practice_id)
    people = _people(rng, pools, spec.patients, today, after)
    _assign_registers(rng, people, [c.key for c in catalogue])
    with bulk_load(session):
        insert_many(session, patient_t, [_patient_row(rng, pools, p, practice_id) for p in people])
        found = session.execute(
            select(patient_t.c.nhs_number, patient_t.c.id).where(
                patient_t.c.practice_id == practice_id
            )
        )
        ids: dict[str, int] = {nhs: pid for nhs, pid in found}
        registers = _register_rows(rng, people, ids, today)
        insert_many(session, register_t, registers)
        rows, paths = _history(rng, people, ids, catalogue, today)
        run_id = _demo_run(session, practice_id, operator, seed, spec.patients, today, len(rows))
        added = insert_ignore(session, event_t, EVENT_COLUMNS, [(*r, run_id) for r in rows])
    by_condition = Counter(e["condition"] for e in registers)
    result = DemoResult(
        url="",
        seed=seed,
        today=today,
        practice_name=spec.settings.practice_name,
        patients=len(people),
        register_entries=len(registers),
        events=added,
        registers={c.key: by_condition.get(c.key, 0) for c in catalogue},
        paths={k: paths.get(k, 0) for k in PATHS},
        deceased=sum(1 for p in people if p.died_on),
        deregistered=sum(1 for p in people if p.deregistered_on),
        ods_code=spec.ods_code or "",
        clinical_system=spec.settings.clinical_system,
    )
    return result, int(max(p.nhs for p in people)[:9])
