"""Benchmark: import 1,000,000 events for 60,000 patients, against raw sqlite3.executemany.

Both sides start from a fresh, migrated SQLite file holding the same 60,000 patients, read the
same CSV file, and insert into the same `event` table (same indexes and unique constraint).
The baseline is the fastest naive script: csv.reader, a dict from NHS number to patient id,
and one sqlite3 executemany in one transaction, with no validation at all. The service adds
NHS-number and date checks, code-system detection, the all-or-nothing guarantee, the import
run and the audit entry. Prints one JSON document. Not a test: nothing is asserted.

    python bench/import_events.py [--patients 60000] [--events 1000000] [--repeat 2]

Each measurement is repeated (interleaved, fresh databases) and the best time counts, as
usual for benchmarks on a shared machine; every run's time is printed too.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path


def nhs_numbers(count: int, rng: random.Random) -> list[str]:
    """Valid NHS numbers from the 999 test range (never a real patient)."""
    out: list[str] = []
    body = 999_000_000 + rng.randrange(0, 100_000)
    while len(out) < count:
        digits = f"{body:09d}"
        total = sum(int(d) * (10 - i) for i, d in enumerate(digits))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            out.append(digits + str(check))
        body += 1
    return out


def write_files(folder: Path, patients: int, events: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    numbers = nhs_numbers(patients, rng)
    pfile = folder / "patients.csv"
    with pfile.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["nhs_number", "family_name", "given_name", "date_of_birth", "postcode"])
        for i, nhs in enumerate(numbers):
            dob = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 30_000))
            w.writerow([nhs, f"Family{i}", f"Given{i}", dob.isoformat(), "LS1 4AP"])
    codes = [f"{rng.randrange(10**8, 10**9)}" for _ in range(2_000)] + [
        f"X{rng.randrange(1000, 9999)}" for _ in range(500)
    ]
    efile = folder / "events.csv"
    start = dt.date(2016, 4, 1)
    per = events // patients + 1
    with efile.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["nhs_number", "date", "code", "term"])
        written = 0
        for nhs in numbers:
            for _ in range(per):
                if written >= events:
                    break
                day = start + dt.timedelta(days=rng.randrange(0, 3_800))
                uk = rng.random() < 0.5
                w.writerow(
                    [
                        nhs,
                        day.strftime("%d/%m/%Y") if uk else day.isoformat(),
                        rng.choice(codes),
                        "Some coded entry",
                    ]
                )
                written += 1
    return pfile, efile


def fresh_db(path: Path, patients_csv: Path) -> str:
    from recall.services.imports import import_file
    from recall.store.db import Database

    url = f"sqlite:///{path}"
    db = Database(url)
    import_file(db, "patients", patients_csv, operator="bench")
    db.dispose()
    return url


def baseline(db_path: Path, events_csv: Path, cache_kib: int | None = None) -> tuple[float, int]:
    """The raw loop; with `cache_kib` it also gets the service's settings (cache, FK checks)."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(db_path, isolation_level=None)
    if cache_kib:
        conn.execute(f"PRAGMA cache_size = -{cache_kib}")
        conn.execute("PRAGMA foreign_keys = ON")
    ids = dict(conn.execute("SELECT nhs_number, id FROM patient"))
    conn.execute("BEGIN")
    with events_csv.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = []
        n = 0
        for nhs, day, code, term in reader:
            if "/" in day:
                d, m, y = day.split("/")
                day = f"{y}-{m}-{d}"
            rows.append((ids[nhs], day, code, term, "snomed"))
            if len(rows) >= 20_000:
                conn.executemany(
                    "INSERT INTO event (patient_id, date, code, term, code_system) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                n += len(rows)
                rows.clear()
        conn.executemany(
            "INSERT INTO event (patient_id, date, code, term, code_system) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        n += len(rows)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - t0, n


def service(url: str, events_csv: Path) -> tuple[float, int, int]:
    from recall.services.imports import import_file
    from recall.store.db import Database

    db = Database(url)
    t0 = time.perf_counter()
    result = import_file(db, "events", events_csv, operator="bench")
    elapsed = time.perf_counter() - t0
    db.dispose()
    return elapsed, result.added, result.rows_read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=60_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--keep", type=Path, default=None, help="keep the CSV files here")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    folder = Path(tempfile.mkdtemp(prefix="recall-bench-"))
    try:
        t0 = time.perf_counter()
        pfile, efile = write_files(folder, args.patients, args.events, args.seed)
        generate_s = time.perf_counter() - t0
        from recall.store.bulk import BULK_CACHE_KIB

        runs: dict[str, list[float]] = {"service": [], "baseline": [], "baseline_same_cache": []}
        added = read = base_rows = 0
        for r in range(args.repeat):
            # interleaved, each on a fresh database, so machine noise hits all three alike
            url_a = fresh_db(folder / f"service{r}.db", pfile)
            fresh_db(folder / f"baseline{r}.db", pfile)
            fresh_db(folder / f"tuned{r}.db", pfile)
            elapsed, base_rows = baseline(folder / f"baseline{r}.db", efile)
            runs["baseline"].append(elapsed)
            elapsed, added, read = service(url_a, efile)
            runs["service"].append(elapsed)
            elapsed, _ = baseline(folder / f"tuned{r}.db", efile, BULK_CACHE_KIB)
            runs["baseline_same_cache"].append(elapsed)
            for name in (f"service{r}.db", f"baseline{r}.db", f"tuned{r}.db"):
                for suffix in ("", "-wal", "-shm"):
                    (folder / f"{name}{suffix}").unlink(missing_ok=True)
        svc_s, base_s, tuned_s = (
            min(runs[k]) for k in ("service", "baseline", "baseline_same_cache")
        )
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = {
            "patients": args.patients,
            "events": args.events,
            "csv_mb": round(efile.stat().st_size / 1e6, 1),
            "generate_s": round(generate_s, 2),
            "service_s": round(svc_s, 2),
            "service_rows_read": read,
            "service_rows_added": added,
            "baseline_s": round(base_s, 2),
            "baseline_rows": base_rows,
            "baseline": "csv.reader + dict lookup + sqlite3.executemany, same schema, no checks",
            "ratio": round(svc_s / base_s, 3),
            "runs_s": {k: [round(v, 2) for v in vs] for k, vs in runs.items()},
            "baseline_same_cache_s": round(tuned_s, 2),
            "ratio_vs_same_cache": round(svc_s / tuned_s, 3),
            "note": "baseline_s is the raw loop with sqlite3's defaults (2 MB page cache, "
            "foreign keys not checked); the service raises the cache to "
            f"{BULK_CACHE_KIB // 1024} MB for the import transaction and checks foreign keys; "
            "baseline_same_cache_s gives the raw loop those same settings",
            "target_ratio": 1.5,
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "target_peak_rss_mb": 500,
            "sqlite": sqlite3.sqlite_version,
            "python": sys.version.split()[0],
        }
        print(json.dumps(out, indent=2))
    finally:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in folder.iterdir():
                shutil.copy2(f, args.keep / f.name)
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("RECALL_DATABASE_URL", None)


if __name__ == "__main__":
    main()
