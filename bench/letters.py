"""Letters benchmark: compiled-once rendering vs docxtpl render + save per letter.

Renders N letters (default 2,000) from the shipped stage-1 template both ways in the same run
and prints JSON with letters per second and the ratio. The fast path does everything the
batch command does with the files: a single .docx per letter (written 0600) plus the
combined print file, whose time is included. The naive path is the docxtpl recipe: open the
template, render (same sandboxed, escaping environment), save, for every letter.

    python bench/letters.py [--letters 2000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from docxtpl import DocxTemplate

from recall.letters import LetterContext, PrintFile, TemplateSet, sample_context
from recall.letters.context import ConditionInfo
from recall.letters.jinja_env import make_environment
from recall.resources import templates_dir
from recall.services.letters import private_dir, write_private

FIRST = ["Ann", "Bob", "Zoë", "Siân", "Omar", "Priya", "Tomasz", "Aoife", "Kwame", "Li"]
LAST = ["O'Brien & Sons", "Smith", "Nowak", "Jones", "Patel", "Ng", "Okafor", "Müller"]
CONDITIONS = [
    ConditionInfo("DM", "Diabetes", "diabetes", "a urine sample in a pot from reception"),
    ConditionInfo(
        "HYP", "Hypertension", "high blood pressure", "your home blood pressure readings"
    ),
    ConditionInfo("AST", "Asthma", "asthma", "all your inhalers and spacer"),
]


def contexts(n: int) -> list[LetterContext]:
    base = sample_context(1)
    out = []
    for i in range(n):
        patient = dataclasses.replace(
            base.patient,
            first_name=FIRST[i % len(FIRST)],
            last_name=LAST[(i // len(FIRST)) % len(LAST)],
            address_lines=(f"{i + 1} Mill Lane", "Leeds"),
            postcode=f"LS{1 + i % 28} {i % 10}AB",
        )
        conds = tuple(CONDITIONS[: 1 + i % len(CONDITIONS)])
        out.append(dataclasses.replace(base, patient=patient, conditions=conds))
    return out


def fast(items: list[LetterContext], folder: Path) -> dict[str, float]:
    start = time.perf_counter()
    ts = TemplateSet([templates_dir()])
    tpl = ts.letter(1, "standard")
    printed = PrintFile(tpl)
    for n, ctx in enumerate(items, start=1):
        body = tpl.render_body(ctx.as_context())
        path = folder / f"letter-{n:04d}.docx"
        buf = io.BytesIO()
        tpl.write(buf, body)
        write_private(path, buf.getvalue())
        printed.add(tpl, body)
    letters_done = time.perf_counter()
    write_private(folder / "print.docx", printed.to_bytes())
    end = time.perf_counter()
    return {
        "seconds": round(end - start, 3),
        "print_file_seconds": round(end - letters_done, 3),
        "letters_per_second": round(len(items) / (end - start), 1),
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
    parser.add_argument(
        "--keep", type=Path, default=None, help="write the files here and keep them"
    )
    args = parser.parse_args(argv)
    items = contexts(args.letters)
    with tempfile.TemporaryDirectory(prefix="recall-bench-") as tmp:
        root = private_dir(args.keep) if args.keep else Path(tmp)
        (root / "fast").mkdir(exist_ok=True)
        (root / "naive").mkdir(exist_ok=True)
        f = fast(items, root / "fast")
        nv = naive(items, root / "naive")
        size = (root / "fast" / "print.docx").stat().st_size
    result = {
        "benchmark": "letters",
        "date": dt.date.today().isoformat(),
        "letters": args.letters,
        "template": "stage1.docx",
        "compiled_once": {**f, "print_file_bytes": size},
        "naive_docxtpl": nv,
        "ratio": round(f["letters_per_second"] / nv["letters_per_second"], 1),
        "target_ratio": 6,
        "note": "compiled_once includes writing every single letter and the combined print file",
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
