"""Application logging: a private rotating file, with NHS numbers redacted on the way out.

The log is for diagnosing faults, not a record of care: it must never hold patient names or NHS
numbers. Code should log ids and counts only; the filter here is the safety net that blanks
anything shaped like an NHS number (10 digits, grouped or not) in messages and tracebacks.
SQLAlchemy's statement logging (which would print parameters such as names) is held at WARNING
whatever the application's level.
"""

from __future__ import annotations

import errno
import io
import logging
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

import platformdirs

from recall.outputs import OutputError, open_append, private_folder
from recall.store.environment import environment

LOG_NAME = "recall.log"
REDACTED = "[nhs-number]"
MAX_BYTES = 1_000_000
BACKUPS = 5
QUIET_LOGGERS = ("sqlalchemy", "alembic.runtime.migration")

# 10 digits as one run or grouped 3-3-4 by spaces or hyphens, not part of a longer number.
NHS_LIKE = re.compile(r"(?<![\d])\d{3}[ \-]?\d{3}[ \-]?\d{4}(?![\d])")
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"


_COMMAND_WORD = re.compile(r"^[a-z][a-z\-]{0,30}$")


def command_name(argv: list[str]) -> str:
    """The sub-command words of `argv` ("batch confirm"), never its values or options."""
    words = []
    for token in argv[:2]:
        if not _COMMAND_WORD.match(token):
            break
        words.append(token)
    if not argv:
        return "(terminal UI)"
    return " ".join(words) or "(command)"


# user:password@ in a database URL (postgresql+psycopg://user:secret@host/db)
URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every NHS-number-like run of digits and every URL password replaced."""
    return NHS_LIKE.sub(REDACTED, URL_PASSWORD.sub(r"\1***@", text))


class RedactNhsNumbers(logging.Filter):
    """Rewrites each record's message (arguments merged in) with NHS numbers blanked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string: keep the raw text only
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        return True


class RedactingFormatter(logging.Formatter):
    """Blanks NHS numbers in the whole formatted line, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating file whose every generation is created 0600 (the default follows umask),
    opened through `recall.outputs`: never through a link, never over a database, never onto
    someone else's file (a log left in recall's own log folder by an older version is kept)."""

    _recall_adopt = False

    def _open(self) -> io.TextIOWrapper:
        try:
            fd = open_append(Path(self.baseFilename), adopt=self._recall_adopt)
        except OutputError as exc:
            raise OSError(errno.EACCES, str(exc)) from None
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def default_log_dir() -> Path:
    env = environment().log_dir
    if env:
        return Path(env)
    return Path(platformdirs.user_log_dir("recall", appauthor=False))


def _level(level: int | str | None) -> int:
    raw: int | str = level if level is not None else (environment().log_level or "INFO")
    if isinstance(raw, int):
        return raw
    value = logging.getLevelName(raw.strip().upper())
    return value if isinstance(value, int) else logging.INFO


def configure_logging(level: int | str | None = None, log_dir: Path | None = None) -> Path:
    """Send log records to a private rotating file; returns its path. Safe to call twice."""
    own_folder = log_dir is None and not environment().log_dir
    folder = log_dir or default_log_dir()
    try:
        private_folder(folder)  # 0700 when recall makes it; a folder you chose is left alone
    except OutputError as exc:
        raise OSError(errno.EACCES, str(exc)) from None
    path = folder / LOG_NAME
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_recall_handler", False)]:
        root.removeHandler(old)
        old.close()
    handler = PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    handler._recall_adopt = own_folder
    handler.stream = handler._open()  # now, so a refusal is reported at start-up
    handler._recall_handler = True  # type: ignore[attr-defined]
    handler.addFilter(RedactNhsNumbers())
    handler.setFormatter(RedactingFormatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(_level(level))
    _quieten_statement_logging()
    return path


def _quieten_statement_logging() -> None:
    """Hold SQL statement logging (and any child logger someone turned up) at WARNING."""
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if any(name == q or name.startswith(q + ".") for q in QUIET_LOGGERS)
    ]
    for name in {*QUIET_LOGGERS, *names}:
        logging.getLogger(name).setLevel(logging.WARNING)


def close_logging() -> None:
    """Detach the file handler (tests, and before restoring a database)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_recall_handler", False)]:
        root.removeHandler(old)
        old.close()
