"""The one Jinja environment letters are rendered in: sandboxed, escaping, strict.

Templates are edited by practice staff, so they run in Jinja's immutable sandbox (no access
to Python internals, no changing the data), every value is escaped for XML (a name like
O'Brien & <Sons> prints literally and the .docx stays valid), characters XML cannot hold are
dropped, and an unknown variable is an error instead of a silent blank.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

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


def make_environment(*, autoescape: bool = True) -> ImmutableSandboxedEnvironment:
    """autoescape=True for Word XML; False for plain-text SMS (still sandboxed)."""
    env = ImmutableSandboxedEnvironment(
        autoescape=autoescape,
        undefined=StrictUndefined,
        finalize=xml_safe,
        keep_trailing_newline=False,
    )
    env.filters["sentence"] = sentence
    return env
