"""Letter layout: every shipped template, filled in for a busy letter (three conditions, an
interpreter, online booking, a named signatory, a long address).

Structural checks always run (the .docx re-opened with python-docx): type sizes, the booking
block kept together, easy-read sections that cannot split across pages, one pictogram per
easy-read section, and large print's conditions and "How to book" early enough to fit on
page 1. Where LibreOffice is installed the letters are also laid out for real
(`soffice --headless --convert-to pdf`) and the PDF is checked: page counts, large print's
booking details on page 1, and no easy-read field split across two pages.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.oxml.ns import qn
from docx.shared import Length
from docx.text.paragraph import Paragraph

from recall.letters.check import docx_text
from recall.letters.context import ConditionInfo, LetterContext, sample_context
from recall.letters.docx_template import CompiledDocx
from recall.letters.templates import template_name
from recall.resources import templates_dir

STAGES = (1, 2, 3)
VARIANTS = ("standard", "large_print", "easy_read")
LETTERS = [(s, v) for s in STAGES for v in VARIANTS]
PHONE = "0113 496 0000"
URL = "https://www.example.nhs.uk/book"
PAGE_PT = (297 - 12 - 15) / 25.4 * 72  # A4 less the top and bottom margins
TEXT_WIDTH_PT = (210 - 40) / 25.4 * 72
MOST_PAGES = {"standard": 2, "large_print": 3, "easy_read": 4}
LIBREOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")


def busy_context(stage: int, variant: str) -> LetterContext:
    """The checker's sample letter with a third condition and a named signatory."""
    ctx = sample_context(stage, variant)
    asthma = ConditionInfo(
        "AST", "Asthma", "asthma", "all your inhalers and spacer", "all your inhalers"
    )
    practice = dataclasses.replace(ctx.practice, signatory="Dr A Patel, GP partner")
    return dataclasses.replace(ctx, conditions=(*ctx.conditions, asthma), practice=practice)


def render(stage: int, variant: str) -> bytes:
    tpl = CompiledDocx.load(templates_dir() / template_name(stage, variant))
    return tpl.render_docx(busy_context(stage, variant).as_context())


def open_docx(data: bytes) -> Document:
    import io

    return docx.Document(io.BytesIO(data))


def body_paragraphs(doc: Document) -> Iterator[Paragraph]:
    """Paragraphs at the top level of the body, in order (not inside tables)."""
    for el in doc.element.body.iterchildren(qn("w:p")):
        yield Paragraph(el, doc)


def run_sizes(doc: Document) -> list[float]:
    """Every run's explicit type size in points, tables included."""
    sizes = []
    for p in doc.element.body.iter(qn("w:r")):
        sz = p.find(f"{qn('w:rPr')}/{qn('w:sz')}")
        if sz is not None:
            sizes.append(int(sz.get(qn("w:val"))) / 2)
    return sizes


# -- structure (always) ---------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "variant"), LETTERS)
def test_type_sizes_and_booking_block(stage: int, variant: str) -> None:
    doc = open_docx(render(stage, variant))
    sizes = run_sizes(doc)
    assert sizes
    if variant != "standard":  # large print and easy read: nothing smaller than 16 pt
        assert min(sizes) >= 16, sorted(set(sizes))
    else:
        assert min(sizes) >= 11
    paras = [p for t in doc.tables for c in t.rows[0].cells for p in c.paragraphs]
    paras += list(body_paragraphs(doc))
    (heading,) = [p for p in paras if p.text == "How to book"]
    assert heading.paragraph_format.keep_with_next  # never the last line of a page
    breaks = doc.element.body.xpath(".//w:br[@w:type='page']")
    assert not breaks, "a letter flows: no hard page breaks"
    if variant != "easy_read":
        (phone,) = [p for p in paras if p.text == f"Please phone us on {PHONE}."]
        assert phone.paragraph_format.keep_together


def _height_pt(p: Paragraph) -> float:
    """A generous estimate of the paragraph's height (Arial averages about 0.5 em a letter)."""
    sizes = [r.font.size.pt for r in p.runs if r.font.size is not None] or [12.0]
    size = max(sizes)
    fmt = p.paragraph_format
    width = TEXT_WIDTH_PT - (fmt.left_indent.pt if isinstance(fmt.left_indent, Length) else 0)
    lines = max(1, math.ceil(len(p.text) * size * 0.55 / width))
    before = fmt.space_before.pt if fmt.space_before is not None else 0
    after = fmt.space_after.pt if fmt.space_after is not None else 0
    return float(lines * size * 1.2 + before + after)


@pytest.mark.parametrize("stage", STAGES)
def test_large_print_books_on_page_one_by_structure(stage: int) -> None:
    """The conditions and "How to book" come before what to bring and the longer wording,
    and everything up to the phone number fits in one page's height (estimated)."""
    doc = open_docx(render(stage, "large_print"))
    paras = list(body_paragraphs(doc))
    texts = [p.text for p in paras]
    book = texts.index("How to book")
    assert texts.index("Your review covers:") < book < texts.index("What to bring")
    phone = texts.index(f"Please phone us on {PHONE}.")
    header = doc.tables[0]
    address = len([p for p in header.rows[1].cells[0].paragraphs if p.text.strip()])
    used = 33 / 25.4 * 72 + max(40 / 25.4 * 72, address * 21)
    used += sum(_height_pt(p) for p in paras[: phone + 1])
    assert used < PAGE_PT, f"about {used:.0f} pt before the phone number; a page has {PAGE_PT:.0f}"


def _sections(doc: Document) -> list[object]:
    return list(doc.tables[1:])  # the first table is the letterhead and address


@pytest.mark.parametrize("stage", STAGES)
def test_easy_read_sections_have_a_picture_and_never_split(stage: int) -> None:
    doc = open_docx(render(stage, "easy_read"))
    sections = _sections(doc)
    assert len(sections) == 5  # when, what about, what to bring, how to book, who can come
    assert len(doc.inline_shapes) == len(sections)
    names = []
    for table in sections:
        (row,) = table.rows  # type: ignore[attr-defined]
        assert row._tr.trPr.find(qn("w:cantSplit")) is not None
        picture, words = row.cells
        assert len(picture._tc.xpath(".//pic:pic")) == 1
        assert not words._tc.xpath(".//pic:pic")
        names.append(picture._tc.xpath(".//wp:docPr/@descr")[0])
    assert names == [
        "Picture: calendar",
        "Picture: person",
        "Picture: pill",
        "Picture: phone",
        "Picture: people",
    ]
    text = "\n".join(docx_text(doc))
    assert "All your inhalers" in text and "inhalers and spacer" not in text


def test_pictograms_are_real_pngs_made_by_the_build_script() -> None:
    import zipfile

    with zipfile.ZipFile(templates_dir() / "stage1_easy_read.docx") as zf:
        media = [n for n in zf.namelist() if n.startswith("word/media/")]
        assert len(media) == 5
        for name in media:
            data = zf.read(name)
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) < 20_000, name


# -- real layout (where LibreOffice is installed) -------------------------------------------


needs_libreoffice = pytest.mark.skipif(
    LIBREOFFICE is None,
    reason="LibreOffice (soffice) is not installed: letters not laid out; structure checked",
)


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, str], Path]:
    """Every shipped template, filled in and converted to PDF in one LibreOffice run."""
    assert LIBREOFFICE is not None
    folder = tmp_path_factory.mktemp("layout")
    paths = {}
    for stage, variant in LETTERS:
        path = folder / template_name(stage, variant)
        path.write_bytes(render(stage, variant))
        paths[(stage, variant)] = path
    subprocess.run(
        [
            LIBREOFFICE,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *map(str, paths.values()),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return {key: path.with_suffix(".pdf") for key, path in paths.items()}


def page_count(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))


def page_texts(pdf: Path) -> list[str]:
    """Each page's text, spaces and line ends made single spaces (pdftotext)."""
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: text per page not read")
    out = subprocess.run(
        [PDFTOTEXT, "-enc", "UTF-8", str(pdf), "-"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout.decode("utf-8")
    pages = out.split("\f")
    return [" ".join(p.split()) for p in pages[: page_count(pdf)]]


@needs_libreoffice
@pytest.mark.parametrize(("stage", "variant"), LETTERS)
def test_page_counts(pdfs: dict[tuple[int, str], Path], stage: int, variant: str) -> None:
    pages = page_count(pdfs[(stage, variant)])
    assert 1 <= pages <= MOST_PAGES[variant]
    if variant == "standard" and stage < 3:
        assert pages == 1  # a standard invitation is one sheet


@needs_libreoffice
@pytest.mark.parametrize("stage", STAGES)
def test_large_print_page_one_has_conditions_and_booking(
    pdfs: dict[tuple[int, str], Path], stage: int
) -> None:
    first = page_texts(pdfs[(stage, "large_print")])[0]
    assert "How to book" in first and PHONE in first, first[-300:]
    for name in ("Diabetes", "High blood pressure", "Asthma"):
        assert name in first


@needs_libreoffice
@pytest.mark.parametrize("stage", STAGES)
def test_easy_read_fields_stay_on_one_page(pdfs: dict[tuple[int, str], Path], stage: int) -> None:
    pages = page_texts(pdfs[(stage, "easy_read")])
    ctx = busy_context(stage, "easy_read")
    fields = [
        f"Phone us on: {PHONE}",  # the label and the number together
        f"Or book on the internet: {URL}",
        "We can get someone to help you in Polish. Ask us when you phone.",
        *(c.plain_name.capitalize() for c in ctx.conditions),
        *(c.easy_bring.capitalize() for c in ctx.conditions),
        "From Dr A Patel, GP partner",
    ]
    for field in fields:
        assert any(field in page for page in pages), f"{field!r} split or missing: {pages}"
    assert sum(page.count("How to book") for page in pages) == 1
