"""SMS text: the sandboxed template, GSM fragment counting and UK mobile numbers.

Bulk-messaging tools send one message to a whole uploaded list, so the SMS template sees only
practice and letter fields (no patient details, no conditions: "long-term condition review"
is as clinical as a text message gets). Whitespace in the template is collapsed to single
spaces so staff can lay it out over several lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateError, TemplateSyntaxError

from recall.letters.docx_template import syntax_problem, template_line
from recall.letters.errors import TemplateProblem
from recall.letters.jinja_env import compile_template
from recall.letters.limits import render_limited

MAX_FRAGMENTS = 2
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
_NOT_DIGITS = re.compile(r"[\s()+\-.]")


@dataclass(frozen=True)
class SmsLength:
    characters: int  # in the encoding's units (an extended GSM character counts twice)
    encoding: str  # "GSM" or "UCS-2"
    fragments: int


def sms_length(text: str) -> SmsLength:
    """How many SMS fragments a message needs (160/153 GSM-7, 70/67 UCS-2)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, multi, enc = 160, 153, "GSM"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi, enc = 70, 67, "UCS-2"
    fragments = 1 if units <= single else math.ceil(units / multi)
    return SmsLength(units, enc, fragments if units else 0)


def normalise_mobile(raw: str | None) -> str | None:
    """A UK mobile as 07 plus 9 digits (GOV.UK Notify's rule), or None if it is not one."""
    if not raw:
        return None
    digits = _NOT_DIGITS.sub("", raw)
    for lead in ("0044", "44", "0"):
        if digits.startswith(lead):
            digits = digits[len(lead) :]
            break
    if len(digits) == 10 and digits.isdigit() and digits.startswith("7"):
        return "0" + digits
    return None


@dataclass
class SmsTemplate:
    name: str
    source: str
    template: Template

    @classmethod
    def load(cls, path: Path | str, *, name: str | None = None) -> SmsTemplate:
        path = Path(path)
        label = name or path.name
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateProblem(label, f"cannot read the file ({exc})") from None
        return cls.from_source(source, name=label)

    @classmethod
    def from_source(cls, source: str, *, name: str) -> SmsTemplate:
        try:
            template = compile_template(source, autoescape=False)
        except TemplateSyntaxError as exc:
            lines = source.splitlines()
            line, message = syntax_problem(exc, source)
            near = lines[line - 1].strip()[:70] if 0 < line <= len(lines) else ""
            raise TemplateProblem(name, message, line, near) from None
        return cls(name, source, template)

    def render(self, context: Mapping[str, Any]) -> str:
        try:
            text = render_limited(self.template, context)
        except TemplateError as exc:
            line = template_line(exc)
            raise TemplateProblem(self.name, str(exc.message or exc), line) from None
        return " ".join(text.split())

    def render_checked(self, context: Mapping[str, Any]) -> str:
        """Render and refuse a message longer than two SMS fragments."""
        text = self.render(context)
        size = sms_length(text)
        if size.fragments > MAX_FRAGMENTS:
            raise TemplateProblem(
                self.name,
                f"the message is {size.characters} {size.encoding} characters "
                f"({size.fragments} SMS fragments; at most {MAX_FRAGMENTS} allowed): shorten "
                "the template or the practice details it uses",
            )
        return text
