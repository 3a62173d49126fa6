"""`recall letters check`: find what is wrong with a template before a batch uses it.

Reports syntax errors (with the line: the paragraph number in a .docx), variables and fields
that are not in the documented context (`patient.frist_name`), then renders a made-up letter
and re-opens it to prove the result is a valid Word file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
from jinja2 import nodes

from recall.letters.context import (
    LETTER_VARIABLES,
    SMS_VARIABLES,
    PracticeInfo,
    sample_context,
    sms_context,
)
from recall.letters.docx_template import CompiledDocx, paragraph_text
from recall.letters.errors import TemplateProblem
from recall.letters.jinja_env import make_environment
from recall.letters.sms import SmsTemplate, sms_length

_STAGE = re.compile(r"stage\s*([123])", re.IGNORECASE)
_VARIANT = re.compile(r"(large_print|easy_read)", re.IGNORECASE)
# Names Jinja provides inside templates (loop.index etc.), never "undeclared".
_BUILTIN = frozenset({"loop", "range", "lipsum", "dict", "cycler", "joiner", "namespace"})
# List-valued fields whose items are plain strings (a loop variable over them has no fields).
_STRING_LISTS = {("practice", "address_lines"), ("patient", "address_lines"), ("patient", "needs")}


@dataclass(frozen=True)
class CheckProblem:
    kind: str  # syntax | undeclared | render | length | file
    message: str
    line: int | None = None
    near: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        hint = f" (near: {self.near})" if self.near else ""
        return f"{where}{self.message}{hint}"


@dataclass
class CheckReport:
    template: str
    path: str
    kind: str  # letter | sms
    problems: list[CheckProblem] = field(default_factory=list)
    sample: str = ""
    sms_characters: int | None = None
    sms_fragments: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "template": self.template,
            "path": self.path,
            "kind": self.kind,
            "ok": self.ok,
            "problems": [
                {"kind": p.kind, "line": p.line, "message": p.message, "near": p.near}
                for p in self.problems
            ],
            "sample": self.sample,
            "sms_characters": self.sms_characters,
            "sms_fragments": self.sms_fragments,
        }


def undeclared(
    source: str, variables: Mapping[str, Mapping[str, str]] = LETTER_VARIABLES
) -> list[CheckProblem]:
    """Names and fields the template uses that the documented context does not have."""
    env = make_environment()
    tree = env.parse(source)
    lines = source.split("\n")

    def near(lineno: int) -> str:
        return paragraph_text(lines[lineno - 1]) if 0 < lineno <= len(lines) else ""

    problems: list[CheckProblem] = []
    assigned: set[str] = set()
    loops: dict[str, str | None] = {}  # loop variable -> the context list it walks
    for node in tree.find_all((nodes.For, nodes.Assign, nodes.Macro, nodes.With)):
        for target in node.find_all(nodes.Name):
            if target.ctx in ("store", "param"):
                assigned.add(target.name)
        if isinstance(node, nodes.For) and isinstance(node.target, nodes.Name):
            it = node.iter
            if isinstance(it, nodes.Name) and it.name in variables:
                loops[node.target.name] = it.name
            elif (
                isinstance(it, nodes.Getattr)
                and isinstance(it.node, nodes.Name)
                and (it.node.name, it.attr) in _STRING_LISTS
            ):
                loops[node.target.name] = None
    seen: set[tuple[str, int]] = set()
    for name in tree.find_all(nodes.Name):
        if name.ctx != "load" or name.name in _BUILTIN or name.name in assigned:
            continue
        if name.name not in variables and (name.name, name.lineno) not in seen:
            seen.add((name.name, name.lineno))
            problems.append(
                CheckProblem(
                    "undeclared", f"unknown variable '{name.name}'", name.lineno, near(name.lineno)
                )
            )
    for found in tree.find_all((nodes.Getattr, nodes.Getitem)):
        get: Any = found
        base = get.node
        if not isinstance(base, nodes.Name):
            continue
        if isinstance(get, nodes.Getattr):
            attr = get.attr
        elif isinstance(get.arg, nodes.Const) and isinstance(get.arg.value, str):
            attr = get.arg.value
        else:
            continue
        owner: str | None
        if base.name in loops:
            owner = loops[base.name]
            if owner is None:
                continue
        elif base.name in variables and base.name not in assigned:
            owner = base.name
        else:
            continue
        fields = variables[owner]
        if fields and attr not in fields:
            label = "conditions item" if owner == "conditions" else owner
            problems.append(
                CheckProblem(
                    "undeclared",
                    f"unknown field '{base.name}.{attr}' ({label} has: {', '.join(fields)})",
                    get.lineno,
                    near(get.lineno),
                )
            )
    problems.sort(key=lambda p: (p.line or 0, p.message))
    return problems


def _guess_stage(name: str) -> int:
    m = _STAGE.search(name)
    return int(m.group(1)) if m else 1


def _guess_variant(name: str) -> str:
    m = _VARIANT.search(name)
    return m.group(1).lower() if m else "standard"


def _from_problem(exc: TemplateProblem, kind: str) -> CheckProblem:
    return CheckProblem(kind, exc.message, exc.line, exc.near)


def check_docx(path: Path, compiled: CompiledDocx | None = None) -> CheckReport:
    """Every check of a letter template: `recall letters check` and `batch letters` both run
    this (on the template compiled once), so a batch never uses a template check refuses."""
    report = CheckReport(path.name, str(path), "letter")
    if compiled is None:
        try:
            compiled = CompiledDocx.load(path)
        except TemplateProblem as exc:
            report.problems.append(_from_problem(exc, "syntax" if exc.line else "file"))
            return report
    report.problems.extend(undeclared(compiled.source))
    if report.problems:
        return report
    ctx = sample_context(_guess_stage(path.name), _guess_variant(path.name))
    try:
        data = compiled.render_docx(ctx.as_context())
    except TemplateProblem as exc:
        report.problems.append(_from_problem(exc, "render"))
        return report
    try:
        doc = docx.Document(io.BytesIO(data))
    except Exception as exc:  # any failure to re-open means the output is not a Word file
        report.problems.append(CheckProblem("render", f"the filled-in letter does not open: {exc}"))
        return report
    report.sample = "\n".join(docx_text(doc))
    return report


def docx_text(doc: object) -> list[str]:
    """Every paragraph's text in reading order, table cells included."""
    body = doc.element.body  # type: ignore[attr-defined]
    out: list[str] = []
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for p in body.iter(f"{w}p"):
        # runs hold text (w:t) and tabs (w:tab, e.g. after a bullet): keep both, in order
        text = "".join(
            (el.text or "") if el.tag == f"{w}t" else " " for el in p.iter(f"{w}t", f"{w}tab")
        )
        if text.strip():
            out.append(text)
    return out


def letter_text(data: bytes) -> list[str]:
    """The paragraphs of a rendered .docx (re-opened with python-docx), for previews."""
    return docx_text(docx.Document(io.BytesIO(data)))


def check_sms(path: Path, tpl: SmsTemplate | None = None) -> CheckReport:
    """Every check of the SMS template (shared by `letters check` and `batch letters`)."""
    report = CheckReport(path.name, str(path), "sms")
    if tpl is None:
        try:
            tpl = SmsTemplate.load(path)
        except TemplateProblem as exc:
            report.problems.append(_from_problem(exc, "syntax" if exc.line else "file"))
            return report
    report.problems.extend(undeclared(tpl.source, SMS_VARIABLES))
    if report.problems:
        return report
    sample = sample_context()
    practice = PracticeInfo(
        name=sample.practice.name,
        address_lines=sample.practice.address_lines,
        phone=sample.practice.phone,
        booking_url=sample.practice.booking_url,
    )
    worst = None
    for stage in (1, 2, 3):
        try:
            text = tpl.render(sms_context(practice, stage, sample.letter_date))
        except TemplateProblem as exc:
            report.problems.append(_from_problem(exc, "render"))
            return report
        size = sms_length(text)
        if worst is None or size.characters > worst[1].characters:
            worst = (text, size)
        report.sample += f"stage {stage}: {text}\n"
    assert worst is not None
    report.sms_characters, report.sms_fragments = worst[1].characters, worst[1].fragments
    if worst[1].fragments > 2:
        report.problems.append(
            CheckProblem(
                "length",
                f"the longest message is {worst[1].characters} {worst[1].encoding} characters "
                f"({worst[1].fragments} SMS fragments); keep it to 2 (306 plain characters)",
            )
        )
    return report


def check_template(path: Path | str) -> CheckReport:
    """Check one template file (.docx letter or .j2 SMS)."""
    path = Path(path)
    if not path.is_file():
        report = CheckReport(path.name, str(path), "letter")
        report.problems.append(CheckProblem("file", "file not found"))
        return report
    if path.suffix.lower() == ".docx":
        return check_docx(path)
    return check_sms(path)


def refuse_unless_ok(report: CheckReport) -> None:
    """Raise the report's first problem as a TemplateProblem (for the batch letters path)."""
    if report.problems:
        first = report.problems[0]
        raise TemplateProblem(report.template, first.message, first.line, first.near)
