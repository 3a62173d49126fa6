"""Which template a patient gets, where templates are found, and compiling each once.

Variant rule: `easy_read` in the patient's communication needs → easy read (also printed in
large type); else `large_print` → large print; else standard. A practice can put its own
copies of the files in a folder searched before the shipped ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from recall.letters.docx_template import CompiledDocx
from recall.letters.errors import TemplateProblem
from recall.letters.sms import SmsTemplate

SMS_TEMPLATE = "sms.txt.j2"
STAGES = (1, 2, 3)


def parse_needs(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    """`large_print;interpreter:Polish` → ('large_print', 'interpreter:Polish')."""
    if raw is None:
        return ()
    items = raw.split(";") if isinstance(raw, str) else list(raw)
    out = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        key, sep, rest = item.partition(":")
        out.append(f"{key.strip().lower()}{sep}{rest.strip()}" if sep else item.lower())
    return tuple(out)


def choose_variant(needs: Iterable[str]) -> str:
    wanted = set(needs)
    if "easy_read" in wanted:
        return "easy_read"
    if "large_print" in wanted:
        return "large_print"
    return "standard"


def template_name(stage: int, variant: str = "standard") -> str:
    return f"stage{stage}.docx" if variant == "standard" else f"stage{stage}_{variant}.docx"


def all_template_names() -> list[str]:
    names = [template_name(s, v) for s in STAGES for v in ("standard", "large_print", "easy_read")]
    return [*names, SMS_TEMPLATE]


def find_template(name: str, search: Sequence[Path]) -> Path:
    """The first folder in `search` holding `name` wins (practice copies before shipped)."""
    for folder in search:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise TemplateProblem(name, f"not found in {', '.join(str(f) for f in search)}")


class TemplateSet:
    """Compiles each template the first time a letter needs it, then reuses it."""

    def __init__(self, search: Sequence[Path]) -> None:
        self.search = list(search)
        self._docx: dict[str, CompiledDocx] = {}
        self._sms: SmsTemplate | None = None

    def letter(self, stage: int, variant: str) -> CompiledDocx:
        name = template_name(stage, variant)
        if name not in self._docx:
            self._docx[name] = CompiledDocx.load(find_template(name, self.search), name=name)
        return self._docx[name]

    def sms(self) -> SmsTemplate:
        if self._sms is None:
            path = find_template(SMS_TEMPLATE, self.search)
            self._sms = SmsTemplate.load(path, name=SMS_TEMPLATE)
        return self._sms
