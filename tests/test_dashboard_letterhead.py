"""Home warns before letters go out without the practice's name, address and phone."""

from __future__ import annotations

import datetime as dt

from recall.services.settings import get_settings, save_settings
from recall.services.views.dashboard import LETTERHEAD_NOTE, load_dashboard
from recall.store.db import Database

TODAY = dt.date(2026, 11, 27)


def test_missing_letterhead_is_flagged_until_filled_in(db: Database) -> None:
    assert LETTERHEAD_NOTE in load_dashboard(db, TODAY).notes
    with db.write() as session:
        settings = get_settings(session)
        settings.practice_name = "St Mary's & <Riverside> Surgery"
        settings.address = ["1 High Street", "Leeds", "LS1 4AP"]
        save_settings(session, settings, operator="test-operator")
    assert LETTERHEAD_NOTE in load_dashboard(db, TODAY).notes  # phone still missing
    with db.write() as session:
        settings = get_settings(session)
        settings.phone = "0113 496 0000"
        save_settings(session, settings, operator="test-operator")
    assert LETTERHEAD_NOTE not in load_dashboard(db, TODAY).notes
