"""The one Jinja environment letters are rendered in: sandboxed, escaping, strict.

Templates are edited by practice staff, so they run in Jinja's immutable sandbox (no access
to Python internals, no changing the data) with size and time limits (`limits`), escaping
cannot be turned off (`template_rules`), every value is escaped for XML (a name like
O'Brien & <Sons> prints literally and the .docx stays valid), characters XML cannot hold are
dropped, and an unknown variable is an error instead of a silent blank.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import StrictUndefined, Template
from markupsafe import Markup

from recall.letters.limits import LimitedSandbox
from recall.letters.template_rules import refuse_forbidden

# Characters XML 1.0 does not allow (a pasted name can carry them); newlines become spaces.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NEWLINES = re.compile(r"[\r\n\t]+")


def xml_safe(value: Any) -> Any:
    """`finalize` hook: make every printed value safe to place inside a <w:t> element."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return _BAD_XML.sub("", _NEWLINES.sub(" ", value))
    return value


def sentence(value: Any) -> str:
    """Capitalise the first letter only ('COPD (a lung...)' stays as it is)."""
    text = str(value or "")
    return text[:1].upper() + text[1:]


def make_environment(*, autoescape: bool = True) -> LimitedSandbox:
    """autoescape=True for Word XML; False for plain-text SMS (still sandboxed)."""
    env = LimitedSandbox(
        autoescape=autoescape,
        undefined=StrictUndefined,
        finalize=xml_safe,
        keep_trailing_newline=False,
    )
    env.filters["sentence"] = sentence
    return env


def compile_template(source: str, *, autoescape: bool = True) -> Template:
    """Parse, refuse what a template may not contain (TemplateSyntaxError with the line),
    then compile. The only way templates are compiled, so no path skips the refusal."""
    env = make_environment(autoescape=autoescape)
    tree = env.parse(source)
    refuse_forbidden(tree)
    return env.from_string(tree)
