"""What every screen needs from the app: the database, today's date and where files go."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from recall.services.infra.database import Database


@dataclass
class AppContext:
    db: Database
    today_override: dt.date | None = None
    out_dir: Path | None = None  # where letters and worksheets go (None: the services decide)
    make_pdf: bool = True  # also a PDF of the print file, when LibreOffice is installed

    @property
    def today(self) -> dt.date:
        """The injected date in tests and snapshots, else the real date."""
        return self.today_override or dt.date.today()
