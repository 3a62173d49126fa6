"""What every screen needs from the app: the database, today's date, where files go and, in
a database holding several practices (a PCN hub), which practice the screens work on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from recall.services.infra.database import Database
from recall.services.practices import PracticeSummary


@dataclass
class AppContext:
    db: Database
    today_override: dt.date | None = None
    out_dir: Path | None = None  # where letters and worksheets go (None: the services decide)
    make_pdf: bool = True  # also a PDF of the print file, when LibreOffice is installed
    practices: tuple[PracticeSummary, ...] = ()  # every practice of the database, by ODS code
    practice: PracticeSummary | None = None  # the chosen one (several practices only)
    last_import_folder: Path | None = None  # the Import browser opens here (this run only)

    @property
    def today(self) -> dt.date:
        """The injected date in tests and snapshots, else the real date."""
        return self.today_override or dt.date.today()

    @property
    def several(self) -> bool:
        """A PCN database: screens work on the chosen practice, and say which."""
        return len(self.practices) > 1

    @property
    def practice_id(self) -> int | None:
        """What every service call is given: the chosen practice, or None for the only one
        (so a single-practice database works exactly as it always has)."""
        return self.practice.id if self.several and self.practice is not None else None
