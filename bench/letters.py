"""Letters benchmark: compiled-once rendering vs docxtpl render + save per letter.

Renders N letters (default 2,000) from the shipped stage-1 template both ways in the same run
and prints JSON with letters per second and the ratio. The fast path does everything the
batch command does with the files: each letter streamed to its own .docx (temp file, fsync,
rename through `recall.outputs`, 0600) and into the combined print file as it is rendered,
so memory stays flat; `peak_rss_mb` is the process's peak resident memory after it (must
stay under 400 MB for 30,000 letters). The naive path is the docxtpl recipe: open the
template, render (same sandboxed, escaping environment), save, for every letter; it is timed
on the first `--naive-letters` (default 300) letters only, as it is slow.

    python bench/letters.py [--letters 2000] [--naive-letters 300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from docxtpl import DocxTemplate

from recall.letters import LetterContext, PrintFile, TemplateSet, sample_context
from recall.letters.context import ConditionInfo
from recall.letters.jinja_env import make_environment
from recall.outputs import OutputSet, private_folder
from recall.resources import templates_dir

FIRST = ["Ann", "Bob", "Zoë", "Siân", "Omar", "Priya", "Tomasz", "Aoife", "Kwame", "Li"]
LAST = ["O'Brien & Sons", "Smith", "Nowak", "Jones", "Patel", "Ng", "Okafor", "Müller"]
CONDITIONS = [
    ConditionInfo("DM", "Diabetes", "diabetes", "a urine sample in a pot from reception"),
    ConditionInfo(
        "HYP", "Hypertension", "high blood pressure", "your home blood pressure readings"
    ),
    ConditionInfo("AST", "Asthma", "asthma", "all your inhalers and spacer"),
]


def contexts(n: int) -> Iterator[LetterContext]:
    base = sample_context(1)
    for i in range(n):
        patient = dataclasses.replace(
            base.patient,
            first_name=FIRST[i % len(FIRST)],
            last_name=LAST[(i // len(FIRST)) % len(LAST)],
            address_lines=(f"{i + 1} Mill Lane", "Leeds"),
            postcode=f"LS{1 + i % 28} {i % 10}AB",
        )
        conds = tuple(CONDITIONS[: 1 + i % len(CONDITIONS)])
        yield dataclasses.replace(base, patient=patient, conditions=conds)


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def fast(n: int, folder: Path) -> dict[str, float]:
    start = time.perf_counter()
    ts = TemplateSet([templates_dir()])
    tpl = ts.letter(1, "standard")
    printed = PrintFile(tpl, templates=[tpl])
    with OutputSet(folder, "bench", bulk=True) as out:
        with out.open("print.docx") as print_fh:
            printed.start(print_fh)
            for i, ctx in enumerate(contexts(n), start=1):
                body = tpl.render_body(ctx.as_context())
                with out.open(f"letter-{i:05d}.docx") as fh:
                    tpl.write(fh, body)
                printed.add(tpl, body)
            letters_done = time.perf_counter()
            printed.finish()
        out.commit()
    end = time.perf_counter()
    return {
        "seconds": round(end - start, 3),
        "print_file_seconds": round(end - letters_done, 3),
        "letters_per_second": round(n / (end - start), 1),
    }


def naive(items: list[LetterContext], folder: Path) -> dict[str, float]:
    path = str(templates_dir() / "stage1.docx")
    env = make_environment()
    start = time.perf_counter()
    for n, ctx in enumerate(items, start=1):
        doc = DocxTemplate(path)
        doc.render(ctx.as_context(), jinja_env=env, autoescape=True)
        doc.save(str(folder / f"naive-{n:04d}.docx"))
    end = time.perf_counter()
    return {
        "seconds": round(end - start, 3),
        "letters_per_second": round(len(items) / (end - start), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--naive-letters", type=int, default=300)
    parser.add_argument(
        "--keep", type=Path, default=None, help="write the files here and keep them"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="recall-bench-") as tmp:
        root = args.keep if args.keep else Path(tmp)
        private_folder(root)
        (root / "naive").mkdir(exist_ok=True)
        rss_before = peak_rss_mb()
        f = fast(args.letters, root / "fast")
        rss = peak_rss_mb()
        sample = list(contexts(min(args.letters, args.naive_letters)))
        nv = naive(sample, root / "naive")
        size = (root / "fast" / "print.docx").stat().st_size
    result = {
        "benchmark": "letters",
        "date": dt.date.today().isoformat(),
        "letters": args.letters,
        "template": "stage1.docx",
        "compiled_once": {**f, "print_file_bytes": size},
        "peak_rss_mb": rss,
        "peak_rss_before_mb": rss_before,
        "target_peak_rss_mb": 400,
        "naive_docxtpl": {**nv, "letters": len(sample)},
        "ratio": round(f["letters_per_second"] / nv["letters_per_second"], 1),
        "target_ratio": 6,
        "note": "compiled_once includes writing every single letter and the combined print file",
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
