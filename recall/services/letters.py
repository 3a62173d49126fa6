"""Render a batch's letters: one print file, single letters, SMS lists and (maybe) a PDF.

Who gets what (the batch engine set each invitation's channel): channel `letter` → a letter
(large print or easy read when the patient's communication needs say so); channel `sms` with
a valid UK mobile → the SMS lists (a patient whose mobile is not valid gets a letter instead,
unless they asked for no letters); email/phone → listed for staff to contact.

Every template the batch needs is compiled and checked before anything is written. Letters
then stream to disk one by one (memory stays flat however big the batch): each goes to a temp
file beside its target, and only when every letter, the print file and the SMS lists are
whole are they renamed into place, so a broken template, a bad value or a full disk leaves
the previous output as it was. Re-running writes the same file names again and removes this
batch's own letters no longer in it; nothing else in the folder is touched, and a file recall
did not write for this batch is not replaced without `force`. A confirmed batch's letters
are never rewritten, and letters made on an earlier day are made again (dated today) only
with `again`: the send date may not precede the day they were made. Files are 0600; folders
recall creates are 0700.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from sqlalchemy import select, update

from recall.domain.catalogue import Catalogue
from recall.letters import (
    CompiledDocx,
    ConditionInfo,
    LetterContext,
    PatientInfo,
    PracticeInfo,
    PrintFile,
    TemplateProblem,
    TemplateSet,
    choose_variant,
    normalise_mobile,
    sms_context,
    unnamed_review,
)
from recall.letters.check import check_docx, check_sms, letter_text, refuse_unless_ok
from recall.letters.templates import all_template_names
from recall.outputs import OutputError, OutputSet, Protected, write_file
from recall.resources import templates_dir
from recall.services.batches import BatchInfo, BatchPlan, Invitee, get_batch
from recall.services.batches.letters_check import (  # the first two: for the CLI and screens
    MadeOnEarlierDay as MadeOnEarlierDay,
)
from recall.services.batches.letters_check import (
    made_on_earlier_day as made_on_earlier_day,
)
from recall.services.batches.letters_check import (
    mark_letters_made,
    recheck_and_load,
)
from recall.services.catalogue import load_catalogue
from recall.services.errors import NotFound, Refused
from recall.services.infra.bulk_objects import no_cycle_collection
from recall.services.infra.database import database_id
from recall.services.infra.files import protected_for, writing
from recall.services.infra.operator import current_operator
from recall.services.practices import batch_output_root, practice_folder
from recall.services.settings import PracticeSettings, get_settings
from recall.store.audit_repo import append_audit
from recall.store.db import Database
from recall.store.environment import environment
from recall.store.models import batch_t

DEFAULT_NAME = PracticeSettings().practice_name
ACCURX_COLUMNS = ("NHS Number", "Date of Birth", "Telecom Number", "First Name")
NOTIFY_COLUMNS = ("phone number", "first name")
_CSV_RISKY = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class LettersResult:
    batch_id: int
    folder: str
    print_file: str | None
    letters: list[str]
    sms_csv: str | None
    notify_csv: str | None = None
    sms_message: str | None = None
    pdf: str | None = None
    pdf_message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Invitations that get neither a letter nor an SMS (no_letter, email/phone channel).
    contact_otherwise: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "batch_id": self.batch_id,
            "folder": self.folder,
            "print_file": self.print_file,
            "letters": self.letters,
            "sms_csv": self.sms_csv,
            "notify_csv": self.notify_csv,
            "sms_message": self.sms_message,
            "pdf": self.pdf,
            "pdf_message": self.pdf_message,
            "counts": self.counts,
            "notes": self.notes,
            "contact_otherwise": self.contact_otherwise,
        }


# ----------------------------------------------------------------------------- locations


def template_search_path(extra: Path | None = None, folder: str | None = None) -> list[Path]:
    """Practice copies first (RECALL_TEMPLATES_DIR, then the user data folder), then shipped.
    In a PCN database (`folder`: the practice's ODS code) that practice's own sub-folder of
    the templates folder comes before the copies all its practices share."""
    out: list[Path] = []
    if extra is not None:
        out.append(extra)
    practice = practice_templates_dir()
    if folder and (practice / folder).is_dir():
        out.append(practice / folder)
    if practice.is_dir() or environment().templates_dir:
        out.append(practice)
    out.append(templates_dir())
    return out


def practice_templates_dir() -> Path:
    """Where a practice keeps its own edited copies (RECALL_TEMPLATES_DIR, else data folder)."""
    env = environment().templates_dir
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("recall", appauthor=False)) / "letter_templates"


def copy_templates(dest: Path | None = None, *, overwrite: bool = False) -> list[Path]:
    """Copy the shipped templates into the practice's folder to edit them there.

    Files already there are kept unless `overwrite`; returns the files copied.
    """
    folder = dest or practice_templates_dir()
    copied = []
    with writing():
        for name in all_template_names():
            target = folder / name
            if target.exists() and not overwrite:
                continue
            data = (templates_dir() / name).read_bytes()
            write_file(target, data, owner="letter-templates", force=overwrite)
            copied.append(target)
    return copied


def default_letters_dir(batch_id: int, db: Database) -> Path:
    """The batch's letters folder inside this database's own output folder (inside its
    practice's sub-folder when the database holds several practices)."""
    return batch_output_root(db, batch_id) / "letters" / f"batch-{batch_id}"


def batch_owner(db: Database, batch_id: int) -> str:
    """Who the batch's files belong to, for the output manifest: this database's batch N."""
    return f"{database_id(db)}/batch-{batch_id}"


# ----------------------------------------------------------------------------- building contexts


def practice_info(settings: PracticeSettings) -> PracticeInfo:
    return PracticeInfo(
        name=settings.practice_name,
        address_lines=tuple(settings.address),
        phone=settings.phone,
        email=settings.email,
        booking_url=settings.booking_url,
        signatory=settings.signatory,
    )


def hidden_conditions(settings: PracticeSettings) -> frozenset[str]:
    """Conditions letters do not name (none when the practice chose to name them all)."""
    if settings.name_sensitive_conditions:
        return frozenset()
    return frozenset(k.upper() for k in settings.sensitive_conditions)


def _conditions(
    keys: Iterable[str], catalogue: Catalogue, hidden: frozenset[str] = frozenset()
) -> tuple[ConditionInfo, ...]:
    """The conditions a letter lists; sensitive ones become one "annual health review" line."""
    out: list[ConditionInfo] = []
    unnamed = False
    for key in keys:
        if key.upper() in hidden:
            unnamed = True
            continue
        cond = catalogue.get(key)
        if cond is None:
            out.append(
                ConditionInfo(
                    key, key, key, "a list of the medicines you take", "a list of your medicines"
                )
            )
        else:
            out.append(
                ConditionInfo(cond.key, cond.name, cond.plain_name, cond.bring, cond.easy_bring)
            )
    if unnamed:  # last: the named conditions first, then "your annual health review"
        out.append(unnamed_review())
    return tuple(out)


def _patient(inv: Invitee, needs: tuple[str, ...]) -> PatientInfo:
    return PatientInfo(
        first_name=inv.given_name,
        last_name=inv.family_name,
        nhs_number=inv.nhs_number,
        date_of_birth=inv.date_of_birth,
        title=inv.title or "",
        address_lines=inv.address,
        postcode=inv.postcode or "",
        needs=needs,
    )


_POSTCODE_PARTS = re.compile(r"^([A-Z]{1,2})(\d{1,2})([A-Z]?)(\d[A-Z]{2})$")


def franking_key(postcode: str | None) -> tuple[int, str, int, str, str]:
    """Postcode order for franking: area, then district by number (LS9 before LS10)."""
    compact = re.sub(r"\s+", "", (postcode or "").upper())
    if not compact:
        return (2, "", 0, "", "")
    m = _POSTCODE_PARTS.match(compact)
    if m is None:
        return (1, compact, 0, "", "")
    return (0, m[1], int(m[2]), m[3], m[4])


def _order(inv: Invitee) -> tuple[object, ...]:
    """Franking order, then name, then invitation (stable between runs)."""
    return (
        franking_key(inv.postcode),
        inv.family_name.casefold(),
        inv.given_name.casefold(),
        inv.invitation_id,
    )


def _csv_cell(value: str) -> str:
    return "'" + value if value.startswith(_CSV_RISKY) else value


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


# ----------------------------------------------------------------------------- the use-case


@dataclass
class _Plan:
    letters: list[tuple[Invitee, str]]  # (invitee, variant), franking order
    sms: list[tuple[Invitee, str]]  # (invitee, normalised mobile)
    other: list[Invitee]  # email / phone / no channel
    notes: list[str]


def _who_gets_what(invitations: Sequence[Invitee]) -> _Plan:
    letters: list[tuple[Invitee, str]] = []
    sms: list[tuple[Invitee, str]] = []
    other: list[Invitee] = []
    braille = 0
    for inv in invitations:
        if inv.status == "void":
            continue
        needs = inv.needs  # parsed when the invitee was read
        mobile = normalise_mobile(inv.mobile) if "no_sms" not in needs else None
        if inv.channel == "sms" and mobile:
            sms.append((inv, mobile))
        elif "no_letter" in needs:
            other.append(inv)
        elif inv.channel in ("letter", "sms"):
            letters.append((inv, choose_variant(needs)))
            braille += "braille" in needs
        else:
            other.append(inv)
    letters.sort(key=lambda pair: _order(pair[0]))
    notes = []
    if braille:
        notes.append(f"{braille} letter(s) for patients who read braille: arrange a braille copy")
    if other:
        notes.append(f"{len(other)} patient(s) get no letter or SMS: contact them another way")
    return _Plan(letters, sms, other, notes)


def _settings_notes(practice: PracticeInfo) -> list[str]:
    """Letterhead details that are missing (the letters still go, but staff should know)."""
    missing = [
        label
        for label, value in (
            ("practice name", practice.name if practice.name != DEFAULT_NAME else ""),
            ("address", " ".join(practice.address_lines)),
            ("phone number", practice.phone),
        )
        if not value.strip()
    ]
    if not missing:
        return []
    return [f"the practice {', '.join(missing)} for the letterhead is not set (Settings)"]


def _refuse(problem: TemplateProblem) -> Refused:
    where = f" line {problem.line}" if problem.line is not None else ""
    return Refused(
        f"letter template {problem.template}{where}: {problem.message} — fix it "
        f"(recall letters check {problem.template}) and run the letters again",
        [
            {
                "template": problem.template,
                "line": str(problem.line or ""),
                "reason": problem.message,
            }
        ],
    )


def _checked(templates: TemplateSet, stage: int, variant: str) -> CompiledDocx:
    """The compiled template, after exactly the checks `recall letters check` runs."""
    compiled = templates.letter(stage, variant)
    refuse_unless_ok(check_docx(compiled.path or Path(compiled.name), compiled))
    return compiled


@dataclass(frozen=True)
class _Source:
    batch: BatchInfo
    practice_id: int
    practice: PracticeInfo
    catalogue: Catalogue
    letter_date: dt.date
    who: _Plan
    hidden: frozenset[str] = frozenset()  # conditions letters do not name
    folder: str | None = None  # the practice's own templates sub-folder (PCN databases)


def _load(
    db: Database, batch_id: int, today: dt.date | None, plan_: BatchPlan | None = None
) -> _Source:
    """What letters need of the batch (`plan_`: the batch as the re-check just read it)."""
    plan_ = plan_ or get_batch(db, batch_id)
    batch = plan_.batch
    if batch.status == "void":
        raise Refused(f"batch {batch_id} is void: there is nothing to send")
    with db.read() as session:
        row = session.execute(select(batch_t.c.practice_id).where(batch_t.c.id == batch_id)).first()
        if row is None:
            raise NotFound(f"no batch {batch_id}")
        settings = get_settings(session, row.practice_id)
        catalogue = load_catalogue(session, row.practice_id)
    return _Source(
        batch=batch,
        practice_id=row.practice_id,
        practice=practice_info(settings),
        catalogue=catalogue,
        hidden=hidden_conditions(settings),
        letter_date=batch.sent_on or max(batch.planned_send_date, today or dt.date.today()),
        who=_who_gets_what(plan_.invitations),
        folder=practice_folder(db, row.practice_id),
    )


def _context(src: _Source, inv: Invitee, variant: str) -> LetterContext:
    return LetterContext(
        practice=src.practice,
        patient=_patient(inv, inv.needs),
        conditions=_conditions(inv.conditions, src.catalogue, src.hidden),
        stage=src.batch.stage,
        letter_date=src.letter_date,
        variant=variant,
    )


@dataclass(frozen=True)
class LetterPreview:
    """One letter as text, for the letter preview screen (nothing is written)."""

    invitation_id: int
    template: str
    variant: str
    lines: list[str]
    position: int  # 1-based place in the print file
    total: int
    order: tuple[int, ...] = ()  # every letter's invitation id, in print-file (postcode) order


def preview_letter(
    db: Database,
    batch_id: int,
    invitation_id: int | None = None,
    *,
    today: dt.date | None = None,
    templates: Path | None = None,
) -> LetterPreview | None:
    """Render one letter of the batch (the first in print order by default) to text lines.

    None when the batch has no letters to print. A broken template is refused like a batch.
    """
    src = _load(db, batch_id, today)
    letters = src.who.letters
    if not letters:
        return None
    pos = 0
    if invitation_id is not None:
        found = [i for i, (inv, _v) in enumerate(letters) if inv.invitation_id == invitation_id]
        if not found:
            raise NotFound(f"invitation {invitation_id} gets no letter in batch {batch_id}")
        pos = found[0]
    inv, variant = letters[pos]
    try:
        search = template_search_path(templates, src.folder)
        tpl = _checked(TemplateSet(search), src.batch.stage, variant)
        data = tpl.render_docx(_context(src, inv, variant).as_context())
    except TemplateProblem as exc:
        raise _refuse(exc) from None
    lines = letter_text(data)
    order = tuple(i.invitation_id for i, _v in letters)
    return LetterPreview(inv.invitation_id, tpl.name, variant, lines, pos + 1, len(letters), order)


def _compile(src: _Source, templates: Path | None) -> tuple[dict[str, CompiledDocx], str | None]:
    """Every letter template the batch needs, checked, and the SMS text (None: no texts)."""
    ts = TemplateSet(template_search_path(templates, src.folder))
    who, stage = src.who, src.batch.stage
    try:
        needed = sorted({variant for _inv, variant in who.letters})
        compiled = {v: _checked(ts, stage, v) for v in needed}
        sms_text = None
        if who.sms:
            sms_t = ts.sms()
            refuse_unless_ok(check_sms(Path(sms_t.name), sms_t))
            sms_text = sms_t.render_checked(sms_context(src.practice, stage, src.letter_date))
    except TemplateProblem as exc:
        raise _refuse(exc) from None
    return compiled, sms_text


def _file_names(
    batch_id: int, stage: int, who: _Plan, sms_text: str | None
) -> tuple[list[str], str | None, list[str]]:
    """(single letters, print file, SMS files): letter N is the N-th in the print file."""
    tag = f"stage{stage}"
    letter_names = [
        f"letter-{n:04d}-{inv.invitation_id}.docx" for n, (inv, _v) in enumerate(who.letters, 1)
    ]
    print_name = f"batch-{batch_id}-print.docx" if who.letters else None
    sms_names = (
        [f"sms-accurx-{tag}.csv", f"sms-notify-{tag}.csv", f"sms-message-{tag}.txt"]
        if who.sms and sms_text is not None
        else []
    )
    return letter_names, print_name, sms_names


def _pdf(
    print_path: str | None, wanted: bool, *, owner: str, force: bool, protected: Protected
) -> tuple[str | None, str]:
    """The print file as PDF when asked for and LibreOffice is there, with what happened."""
    if print_path is None:
        return None, "no letters to print"
    if not wanted:
        return None, "PDF not asked for"
    return make_pdf(Path(print_path), owner=owner, force=force, protected=protected)


def _counts(who: _Plan) -> dict[str, int]:
    return {
        "letters": len(who.letters),
        "large_print": sum(1 for _i, v in who.letters if v == "large_print"),
        "easy_read": sum(1 for _i, v in who.letters if v == "easy_read"),
        "sms": len(who.sms),
        "other": len(who.other),
    }


def _record_made(
    db: Database,
    src: _Source,
    folder: Path,
    made_on: dt.date,
    counts: dict[str, int],
    operator: str,
) -> None:
    """The folder, the day the letters were made, each letter's number, and the audit."""
    who, batch_id = src.who, src.batch.id
    numbers = {inv.invitation_id: n for n, (inv, _v) in enumerate(who.letters, start=1)}
    numbers |= {inv.invitation_id: n for n, (inv, _m) in enumerate(who.sms, start=1)}
    with db.write() as session:
        session.execute(
            update(batch_t).where(batch_t.c.id == batch_id).values(letters_dir=str(folder))
        )
        before = mark_letters_made(session, batch_id, made_on, numbers)
        details: dict[str, object] = {
            **counts,
            "folder": folder.name,
            "made_on": made_on.isoformat(),
        }
        if before is not None and before != made_on:  # made again on another day
            details["previously_made_on"] = before.isoformat()
        append_audit(
            session,
            operator=operator,
            action="batch.letters",
            practice_id=src.practice_id,
            batch_id=batch_id,
            details=details,
        )


def _record_pdf(db: Database, src: _Source, pdf: Path, operator: str) -> None:
    with db.write() as session:
        append_audit(
            session,
            operator=operator,
            action="batch.letters_pdf",
            practice_id=src.practice_id,
            batch_id=src.batch.id,
            details={"file": pdf.name},
        )


def render_batch_letters(
    db: Database,
    batch_id: int,
    out_dir: Path | str | None = None,
    today: dt.date | None = None,
    *,
    operator: str | None = None,
    templates: Path | None = None,
    pdf: bool = True,
    duplex: bool = False,
    force: bool = False,
    again: bool = False,
) -> LettersResult:
    """Write the batch's print file, single letters, SMS CSVs and PDF; record the folder.

    `again`: make again, dated today, letters made on an earlier day and not yet recorded as
    sent (without it: MadeOnEarlierDay). `force`: replace files in the folder that recall did
    not write for this batch (never a database, a backup or a link). `duplex`: every letter
    starts on a new sheet (Word adds a blank back page after an odd number of pages).
    """
    operator = operator or current_operator()
    made_on = today or dt.date.today()
    taken_out, plan_ = recheck_and_load(db, batch_id, today=made_on, operator=operator, again=again)
    src = _load(db, batch_id, made_on, plan_)
    batch, practice, who = src.batch, src.practice, src.who
    if batch.status == "sent" and batch.letters_dir:
        raise Refused(
            f"batch {batch_id} was confirmed as sent on {batch.sent_on}: its letters are kept "
            f"exactly as they went out and are not written again ({batch.letters_dir})"
        )

    # 1. Compile and check every template this batch needs, before anything is written.
    compiled, sms_text = _compile(src, templates)

    # 2. Check every target before writing anything (a link, the database, someone's file).
    target = Path(out_dir) if out_dir is not None else default_letters_dir(batch_id, db)
    owner = batch_owner(db, batch_id)
    guard = protected_for(db)
    letter_names, print_name, sms_names = _file_names(batch_id, batch.stage, who, sms_text)
    out = OutputSet(target, owner, force=force, protected=guard, remove_stale=True, bulk=True)
    with writing():
        out.check([*letter_names, *([print_name] if print_name else []), *sms_names])

    # 3. Render and write, letter by letter, into temp files; then put them all in place.
    try:
        with out, no_cycle_collection():  # thousands of small acyclic contexts and strings
            if print_name is not None:
                _write_letters(out, src, compiled, letter_names, print_name, duplex)
            if sms_names and sms_text is not None:
                _write_sms(out, who, sms_names, sms_text)
            written = out.commit()
    except TemplateProblem as exc:
        raise _refuse(exc) from None
    except OutputError as exc:
        raise Refused(f"not written: {exc}") from None
    folder = out.path
    by_name = {p.name: str(p) for p in written}
    letter_paths = [by_name[n] for n in letter_names]
    print_path = by_name.get(print_name) if print_name else None
    sms_csv, notify_csv, message_path = [by_name.get(n) for n in sms_names] or [None] * 3
    counts = _counts(who)
    # recorded before the PDF (LibreOffice can take minutes): letters in place are always known
    _record_made(db, src, folder, made_on, counts, operator)
    pdf_path, pdf_message = _pdf(print_path, pdf, owner=owner, force=force, protected=guard)
    if pdf_path is not None:
        _record_pdf(db, src, Path(pdf_path), operator)
    return LettersResult(
        batch_id=batch_id,
        folder=str(folder),
        print_file=print_path,
        letters=letter_paths,
        sms_csv=sms_csv,
        notify_csv=notify_csv,
        sms_message=message_path,
        pdf=pdf_path,
        pdf_message=pdf_message,
        counts=counts,
        notes=[*taken_out, *_settings_notes(practice), *who.notes],
        contact_otherwise=[inv.invitation_id for inv in who.other],
    )


def _write_letters(
    out: OutputSet,
    src: _Source,
    compiled: dict[str, CompiledDocx],
    names: list[str],
    print_name: str,
    duplex: bool,
) -> None:
    """Each letter to its own file and into the print file as it is rendered (never all
    letters in memory at once)."""
    base = compiled.get("standard") or next(iter(compiled.values()))
    printed = PrintFile(base, duplex=duplex, templates=list(compiled.values()))
    with out.open(print_name) as print_fh:
        printed.start(print_fh)
        for name, (inv, variant) in zip(names, src.who.letters, strict=True):
            tpl = compiled[variant]
            body = tpl.render_body(_context(src, inv, variant).as_context())
            with out.open(name) as fh:
                tpl.write(fh, body)
            printed.add(tpl, body)
        printed.finish()


def _write_sms(out: OutputSet, who: _Plan, names: list[str], sms_text: str) -> None:
    accurx, notify, message = names
    out.put(
        accurx,
        _csv_bytes(
            ACCURX_COLUMNS,
            (
                (
                    inv.nhs_number,
                    f"{inv.date_of_birth:%d/%m/%Y}",
                    mobile,
                    _csv_cell(inv.given_name),
                )
                for inv, mobile in who.sms
            ),
        ),
    )
    out.put(
        notify,
        _csv_bytes(NOTIFY_COLUMNS, ((m, _csv_cell(inv.given_name)) for inv, m in who.sms)),
    )
    out.put(message, (sms_text + "\n").encode("utf-8"))


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def make_pdf(
    docx_path: Path,
    timeout: int = 300,
    *,
    owner: str = "pdf",
    force: bool = False,
    protected: Protected | None = None,
) -> tuple[str | None, str]:
    """Convert with LibreOffice when it is installed; otherwise say why there is no PDF.

    LibreOffice runs with a throw-away profile (so it works beside an open LibreOffice) in its
    own process group, which is ended as a whole if it takes longer than `timeout` seconds.
    """
    soffice = find_soffice()
    if soffice is None:
        return None, "PDF skipped: LibreOffice (soffice) is not installed"
    target = docx_path.with_suffix(".pdf")
    # Keep the blank pages that odd-page (double-sided) breaks add; older LibreOffice
    # versions do not read these options, so try plain "pdf" after.
    for fmt in (PDF_KEEP_BLANK_PAGES, "pdf"):
        made, message = _convert(soffice, docx_path, fmt, timeout)
        if made is not None:
            try:
                write_file(target, made, owner=owner, force=force, protected=protected)
            except OutputError as exc:
                return None, f"PDF not written: {exc}"
            return str(target), "PDF made with LibreOffice"
        if "longer than" in message:
            break
    return None, message


PDF_KEEP_BLANK_PAGES = (
    'pdf:writer_pdf_Export:{"IsSkipEmptyPages":{"type":"boolean","value":"false"}}'
)


def _convert(soffice: str, docx_path: Path, fmt: str, timeout: int) -> tuple[bytes | None, str]:
    with tempfile.TemporaryDirectory(prefix="recall-pdf-") as tmp:
        os.chmod(tmp, 0o700)
        command = [
            soffice,
            f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            tmp,
            str(docx_path),
        ]
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            return None, f"PDF skipped: LibreOffice could not start ({exc.strerror})"
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _end_group(proc)
            return None, f"PDF skipped: LibreOffice took longer than {timeout} seconds"
        made = Path(tmp) / docx_path.with_suffix(".pdf").name
        if code != 0 or not made.is_file():
            return None, "PDF skipped: LibreOffice could not convert the print file"
        return made.read_bytes(), ""


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop LibreOffice and the helper processes it started (same process group)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass
    proc.wait()
