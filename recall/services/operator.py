"""Who is at the keyboard, for the audit log."""

from __future__ import annotations

import getpass
import os


def current_operator() -> str:
    """RECALL_OPERATOR if set (shared terminals), else the login name."""
    name = os.environ.get("RECALL_OPERATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name on some service accounts
        return "unknown"
