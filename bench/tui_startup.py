"""Benchmark: the terminal UI on a 10,000-patient demo practice, and a 2,000-row review table.

1. Start-up: `make_app` (opens and migrates the database) to the first paint of home, and to
   the fully filled home (every dashboard panel counted), on the 10,000-patient demo built in
   the same run. Baseline: the same on an empty database.
2. Review table: a practice whose November cohort is 2,000 patients; time to open the list,
   then the time each key press takes to be handled and painted while scrolling through all
   2,000 rows (down arrow, page down), and while filtering. Baseline: the same key presses on
   a 20-row list. A "stall" is a key press taking more than 100 ms.

The app runs headless under Textual's Pilot at 80x24, as in the tests. Prints one JSON
document.

    /work/venv/bin/python bench/tui_startup.py [--patients 10000] [--rows 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from recall.services.demo import build_demo
from recall.services.settings import get_settings, save_settings
from recall.store.db import Database
from recall.store.models import patient_t, register_t
from recall.store.practice_repo import get_or_create_practice
from recall.tui.app import make_app
from recall.tui.screens.run import ReviewScreen
from recall.tui.virtual_table import VirtualTable

TODAY = dt.date(2026, 11, 27)
SIZE = (80, 24)
STALL_MS = 100.0


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        with suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _nhs_numbers(n: int, start: int = 990_000_000) -> list[str]:
    out: list[str] = []
    k = start
    while len(out) < n:
        k += 1
        body = f"{k:09d}"
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(body)) % 11
        if check == 11:
            check = 0
        if check != 10:
            out.append(body + str(check))
    return out


def november_cohort(url: str, rows: int, seed: int = 7) -> None:
    """A practice where `rows` patients, all born in November, are on the HYP register."""
    rng = random.Random(seed)
    db = Database(url)
    with db.write() as s:
        practice = get_or_create_practice(s)
        settings = get_settings(s, practice.id)
        settings.practice_name = "Bench Surgery"
        save_settings(s, settings, operator="bench", practice_id=practice.id)
        families = ["Smith", "Jones", "Patel", "Khan", "O'Brien", "Taylor", "Nowak", "Evans"]
        givens = ["Ann", "Bob", "Priya", "Omar", "Siân", "Ewa", "Tom", "Grace", "Li", "Zoe"]
        patients = [
            {
                "practice_id": practice.id,
                "nhs_number": nhs,
                "family_name": rng.choice(families),
                "given_name": rng.choice(givens),
                "date_of_birth": dt.date(rng.randint(1930, 2000), 11, rng.randint(1, 30)),
                "address_line1": f"{i} High Street",
                "postcode": "LS1 4AB",
                "communication_needs": rng.choice(["", "", "", "large_print", "no_sms"]),
            }
            for i, nhs in enumerate(_nhs_numbers(rows))
        ]
        ids = s.execute(insert(patient_t).returning(patient_t.c.id), patients).scalars().all()
        s.execute(insert(register_t), [{"patient_id": pid, "condition": "HYP"} for pid in ids])
    db.dispose()


async def startup(url: str) -> dict[str, float]:
    """Seconds from make_app to the first paint of home, and to the fully counted home."""
    t0 = time.perf_counter()
    app = make_app(url, today=TODAY, cursor_blink=False, make_pdf=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = time.perf_counter() - t0
        await _settle(pilot)
        full = time.perf_counter() - t0
    app.ctx.db.dispose()
    return {"first_paint_s": round(first, 3), "home_filled_s": round(full, 3)}


async def _timed_keys(pilot: Pilot[Any], keys: list[str]) -> list[tuple[float, float]]:
    """(wall ms, CPU ms) per key press, each until the app is idle again.

    Wall time includes Pilot's own idle-wait delays (the same for a 20-row list); CPU time is
    the work the app did for the key (handling, layout, painting), which is what stalls.
    """
    out = []
    for key in keys:
        t, c = time.perf_counter(), time.process_time()
        await pilot.press(key)
        await pilot.pause()
        out.append(((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000))
    return out


def _stats(samples: list[tuple[float, float]]) -> dict[str, float]:
    wall = [w for w, _ in samples]
    cpu = sorted(c for _, c in samples)
    return {
        "presses": len(samples),
        "cpu_mean_ms": round(statistics.fmean(cpu), 2),
        "cpu_p95_ms": round(cpu[int(0.95 * (len(cpu) - 1))], 2),
        "cpu_max_ms": round(cpu[-1], 2),
        "wall_mean_ms": round(statistics.fmean(wall), 2),
        "stalls_cpu_over_100ms": sum(1 for c in cpu if c > STALL_MS),
    }


async def review_scroll(url: str, out_dir: Path) -> dict[str, Any]:
    """Open this month's 1st letters and scroll, page and filter through the list."""
    app = make_app(url, today=TODAY, cursor_blink=False, out_dir=out_dir, make_pdf=False)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        await pilot.press("r")
        await _settle(pilot)
        t, c = time.perf_counter(), time.process_time()
        await pilot.press("enter")
        await _settle(pilot)
        opened = time.perf_counter() - t
        opened_cpu = time.process_time() - c
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        table = screen.query_one(VirtualTable)
        rows = table.row_count
        down = _stats(await _timed_keys(pilot, ["down"] * min(rows, 400)))
        pages = _stats(await _timed_keys(pilot, ["pagedown"] * max(rows // 15, 1)))
        ends = _stats(await _timed_keys(pilot, ["home", "end"] * 10))
        at_end = table.cursor_row
        await pilot.press("slash")
        filtering = _stats(await _timed_keys(pilot, list("smith")))
        shown = table.row_count
        await _timed_keys(pilot, ["backspace"] * 5)
    app.ctx.db.dispose()
    return {
        "rows": rows,
        "open_list_s": round(opened, 3),
        "open_list_cpu_s": round(opened_cpu, 3),
        "cursor_reached_row": at_end,
        "down_arrow": down,
        "page_down": pages,
        "home_end": ends,
        "filter_typing": filtering,
        "filter_rows_shown": shown,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="recall-bench-") as tmp:
        folder = Path(tmp)
        demo_url = f"sqlite:///{folder / 'demo.db'}"
        t = time.perf_counter()
        db = Database(demo_url)
        build_demo(db, patients=args.patients, today=TODAY, operator="bench")
        db.dispose()
        built = time.perf_counter() - t
        empty_url = f"sqlite:///{folder / 'empty.db'}"
        Database(empty_url).dispose()

        await startup(empty_url)  # warm imports and caches once, not counted
        demo = await startup(demo_url)
        empty = await startup(empty_url)

        big_url = f"sqlite:///{folder / 'cohort.db'}"
        november_cohort(big_url, args.rows)
        small_url = f"sqlite:///{folder / 'small.db'}"
        november_cohort(small_url, 20)
        big = await review_scroll(big_url, folder / "out-big")
        small = await review_scroll(small_url, folder / "out-small")

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 2) if b else None

    return {
        "benchmark": "tui_startup",
        "terminal": f"{SIZE[0]}x{SIZE[1]}",
        "python": sys.version.split()[0],
        "demo_patients": args.patients,
        "demo_build_s": round(built, 2),
        "startup": {
            "demo": demo,
            "baseline_empty_db": empty,
            "ratio_home_filled_vs_empty": ratio(demo["home_filled_s"], empty["home_filled_s"]),
            "target_s": 2.0,
            "within_target": demo["home_filled_s"] < 2.0,
        },
        "review_table": {
            "big": big,
            "baseline_20_rows": small,
            "ratio_down_arrow_mean": ratio(
                big["down_arrow"]["cpu_mean_ms"], small["down_arrow"]["cpu_mean_ms"]
            ),
            "ratio_page_down_mean": ratio(
                big["page_down"]["cpu_mean_ms"], small["page_down"]["cpu_mean_ms"]
            ),
            "stall_threshold_ms": STALL_MS,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=2_000)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
