"""Every environment variable recall reads, in one typed object.

Read each time it is asked for (not cached at import), so a terminal session or a test that
changes a variable is seen at once. Nothing else in recall reads `os.environ` (the demo only
copies it to run pg_dump).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DATABASE_URL = "RECALL_DATABASE_URL"
OPERATOR = "RECALL_OPERATOR"
LOG_DIR = "RECALL_LOG_DIR"
LOG_LEVEL = "RECALL_LOG_LEVEL"
TEMPLATES_DIR = "RECALL_TEMPLATES_DIR"
PRACTICE = "RECALL_PRACTICE"


@dataclass(frozen=True)
class Environment:
    """The settings a practice can give recall from its environment (blank = not set)."""

    database_url: str = ""  # RECALL_DATABASE_URL: the database to open by default
    operator: str = ""  # RECALL_OPERATOR: the name recorded in the audit log
    log_dir: str = ""  # RECALL_LOG_DIR: the folder of the private log file
    log_level: str = ""  # RECALL_LOG_LEVEL: DEBUG, INFO, ...
    templates_dir: str = ""  # RECALL_TEMPLATES_DIR: the practice's own letter templates
    practice: str = ""  # RECALL_PRACTICE: the ODS code of the practice to work on


def environment() -> Environment:
    """The current environment's settings, each stripped of surrounding blanks."""

    def get(name: str) -> str:
        return os.environ.get(name, "").strip()

    return Environment(
        database_url=get(DATABASE_URL),
        operator=os.environ.get(OPERATOR, ""),  # cleaned by the operator module
        log_dir=get(LOG_DIR),
        log_level=get(LOG_LEVEL),
        templates_dir=get(TEMPLATES_DIR),
        practice=get(PRACTICE).upper(),
    )
