"""The letter preview walks the letters in the print file's order (postcode order, the order
they come off the printer) and its label counts in that same order."""

from __future__ import annotations

import re
from pathlib import Path

from test_tui_support import app_for, press, settle
from textual.widgets import Static

from recall.tui.screens.letters import LettersScreen, PreviewScreen


async def test_n_and_p_follow_the_print_file(demo_url: str, tmp_path: Path) -> None:
    app = app_for(demo_url, tmp_path / "out")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "r", "enter", "g")
        made = app.screen
        assert isinstance(made, LettersScreen) and made.result is not None
        # letter-0001-<invitation>.docx ... : the print file's order, by file name
        printed = [int(re.findall(r"-(\d+)\.docx$", p)[0]) for p in made.result.letters]
        assert len(printed) >= 4
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, PreviewScreen)
        assert screen.ids == printed
        seen = []
        for k in range(1, 5):
            label = str(screen.query_one("#preview-where", Static).render())
            assert label.startswith(f"Letter {k} of {len(printed)} in the print file"), label
            seen.append(screen.showing)
            await press(pilot, "n")
        assert seen == printed[:4]
        await press(pilot, "p", "p")
        label = str(screen.query_one("#preview-where", Static).render())
        assert label.startswith(f"Letter 3 of {len(printed)}") and screen.showing == printed[2]
        await press(pilot, "p", "p", "p")  # before the first: round to the last
        assert screen.showing == printed[-1]
        assert str(screen.query_one("#preview-where", Static).render()).startswith(
            f"Letter {len(printed)} of {len(printed)}"
        )
