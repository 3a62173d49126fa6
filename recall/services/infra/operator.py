"""Who is at the keyboard, for the audit log (the OS login is added there, always)."""

from __future__ import annotations

import getpass
import re

from recall.domain.text import printable
from recall.store.environment import environment

MAX_OPERATOR = 64


def clean_operator(name: str) -> str:
    """One printable line: a newline in RECALL_OPERATOR must not forge an audit line."""
    return re.sub(r"\s+", " ", printable(name)).strip()[:MAX_OPERATOR]


def current_operator() -> str:
    """RECALL_OPERATOR if set (shared terminals), else the login name."""
    name = clean_operator(environment().operator)
    if name:
        return name
    try:
        return clean_operator(getpass.getuser()) or "unknown"
    except Exception:  # no login name on some service accounts
        return "unknown"
