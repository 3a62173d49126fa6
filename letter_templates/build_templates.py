"""Build the shipped letter templates (stage 1-3 x standard, large print, easy read).

Run `python letter_templates/build_templates.py` to regenerate the .docx files after changing
the wording here. Practices normally edit the .docx files in Word instead; this script is how
the shipped versions are made reproducibly.

Layout: A4, Arial. The first table puts the practice letterhead top right and the patient's
name and address where a DL window envelope shows it (about 20 mm from the left edge and
45-90 mm from the top of the page, with the page folded in three). Every run carries its
own font and size, so letters keep their look when they are put together in one print file.

Large print lists the conditions and "How to book" first, so both are on page 1; what to
bring for each condition follows. Easy read is a column of short sections, each a one-row
table with a pictogram on the left (drawn by pictograms.py, next to this file) that never
splits across two pages.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

HERE = Path(__file__).resolve().parent
FONT = "Arial"
FIXED_TIME = (2026, 1, 1, 0, 0, 0)
PICTURE_MM = 22  # the pictogram's printed width and height
PICTURE_COLUMN_MM = 30
TEXT_COLUMN_MM = 140


def _pictograms() -> object:
    """pictograms.py beside this script (loaded by path: this script is not a package)."""
    spec = importlib.util.spec_from_file_location("recall_pictograms", HERE / "pictograms.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PICTOGRAMS = _pictograms()


@dataclass(frozen=True)
class Look:
    """Type sizes for one variant."""

    variant: str
    body: float
    small: float
    heading: float
    address: float

    @property
    def large(self) -> bool:
        return self.body >= 20


STANDARD = Look("standard", body=12, small=11, heading=16, address=11)
LARGE = Look("large_print", body=20, small=20, heading=24, address=20)
EASY = Look("easy_read", body=20, small=20, heading=26, address=20)
LOOKS = {"standard": STANDARD, "large_print": LARGE, "easy_read": EASY}


class Writer:
    """Adds paragraphs with explicit Arial formatting to a container (document or cell)."""

    def __init__(self, look: Look) -> None:
        self.look = look

    def para(
        self,
        where: object,
        text: str = "",
        *,
        size: float | None = None,
        bold: bool = False,
        align: WD_ALIGN_PARAGRAPH | None = None,
        after: float = 6,
        before: float = 0,
        indent_mm: float = 0,
        hanging_mm: float = 0,
        exact: float | None = None,
        keep_next: bool = False,
        first: bool = False,
    ) -> Paragraph:
        p: Paragraph = (
            where.paragraphs[0] if first and isinstance(where, _Cell) else where.add_paragraph()  # type: ignore[attr-defined]
        )
        fmt = p.paragraph_format
        fmt.space_after = Pt(after)
        fmt.space_before = Pt(before)
        if align is not None:
            p.alignment = align
        if indent_mm:
            fmt.left_indent = Mm(indent_mm)
        if hanging_mm:
            fmt.first_line_indent = Mm(-hanging_mm)
        if exact is not None:
            fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            fmt.line_spacing = Pt(exact)
        if keep_next:
            fmt.keep_with_next = True
        self._mark(p, size or self.look.body)
        if text:
            self.run(p, text, size=size, bold=bold)
        return p

    def run(
        self, p: Paragraph, text: str, *, size: float | None = None, bold: bool = False
    ) -> None:
        r = p.add_run(text)
        r.font.name = FONT
        r.font.size = Pt(size or self.look.body)
        r.font.bold = bold
        rpr = r._element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is not None:
            for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
                fonts.set(qn(attr), FONT)

    def _mark(self, p: Paragraph, size: float) -> None:
        """Size the paragraph mark too, so empty lines are as tall as the text."""
        ppr = p._p.get_or_add_pPr()
        rpr = OxmlElement("w:rPr")
        fonts = OxmlElement("w:rFonts")
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attr), FONT)
        rpr.append(fonts)
        for tag in ("w:sz", "w:szCs"):
            el = OxmlElement(tag)
            el.set(qn("w:val"), str(int(size * 2)))
            rpr.append(el)
        ppr.append(rpr)

    def tag(self, where: object, text: str) -> None:
        """A paragraph holding only a {%p ... %} tag (removed when the letter is made)."""
        self.para(where, text, after=0, size=self.look.small)

    def bullets(self, where: object, lines: list[str], *, bold_first: bool = False) -> None:
        for line in lines:
            p = self.para(where, after=4, indent_mm=8, hanging_mm=6)
            self.run(p, "•\t")
            self.run(p, line, bold=bold_first)


def _set_cell_width(cell: _Cell, mm: float) -> None:
    cell.width = Mm(mm)


def _grid(table: object, widths: tuple[float, ...]) -> None:
    """Column widths in the table grid too (Word and LibreOffice read the grid)."""
    grid = table._tbl.tblGrid  # type: ignore[attr-defined]
    for col, mm in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(int(Mm(mm).twips)))


def header_block(doc: object, w: Writer) -> None:
    """Letterhead (top right), patient address (envelope window), date and NHS number."""
    look = w.look
    table = doc.add_table(rows=2, cols=2)  # type: ignore[attr-defined]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    widths = (92, 78)
    _grid(table, widths)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            _set_cell_width(cell, width)
    top, window = table.rows
    # Row 1: ends 45 mm below the top of the page (12 mm margin + 33 mm).
    top.height = Mm(33)
    top.height_rule = WD_ROW_HEIGHT_RULE.EXACTLY
    # Row 2: the window. At least 40 mm; a very long address grows it rather than being cut.
    window.height = Mm(40)
    window.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    head = top.cells[1]
    right = WD_ALIGN_PARAGRAPH.RIGHT
    if look.large:
        # Large type: only the name fits here; the address and phone close the letter.
        w.para(head, "{{ practice.name }}", bold=True, align=right, after=2, first=True)
    else:
        w.para(head, "{{ practice.name }}", size=14, bold=True, align=right, after=2, first=True)
        w.tag(head, "{%p for line in practice.address_lines %}")
        w.para(head, "{{ line }}", size=look.small, align=right, after=0)
        w.tag(head, "{%p endfor %}")
        w.para(head, "Phone: {{ practice.phone }}", size=look.small, align=right, after=0)
        w.tag(head, "{%p if practice.booking_url %}")
        w.para(head, "{{ practice.booking_url }}", size=look.small, align=right, after=0)
        w.tag(head, "{%p endif %}")
    w.para(top.cells[0], "", first=True, after=0)
    addr = window.cells[0]
    line = look.address + 1
    w.para(addr, "{{ patient.full_name }}", size=look.address, after=0, exact=line, first=True)
    w.tag(addr, "{%p for line in patient.address_lines %}")
    w.para(addr, "{{ line }}", size=look.address, after=0, exact=line)
    w.tag(addr, "{%p endfor %}")
    side = window.cells[1]
    if look.large:
        w.para(side, "", first=True, after=0)
        w.para(doc, "Date: {{ letter.date }}", before=12, after=0)
        w.para(doc, "NHS number: {{ patient.nhs_number }}", after=12)
    else:
        w.para(side, "Date: {{ letter.date }}", size=look.small, align=right, after=2, first=True)
        w.para(side, "NHS number: {{ patient.nhs_number }}", size=look.small, align=right)
        w.para(doc, "", after=6)


def how_to_book(doc: object, w: Writer) -> None:
    w.para(doc, "How to book", size=w.look.heading - 2, bold=True, before=6, keep_next=True)
    p = w.para(doc, "Please phone us on {{ practice.phone }}.")
    p.paragraph_format.keep_together = True
    w.tag(doc, "{%p if practice.booking_url %}")
    w.para(doc, "Or book online: {{ practice.booking_url }}")
    w.tag(doc, "{%p endif %}")


def conditions_list(doc: object, w: Writer) -> None:
    w.tag(doc, "{%p for c in conditions %}")
    p = w.para(doc, after=2, indent_mm=8, hanging_mm=6, keep_next=True)
    w.run(p, "•\t")
    w.run(p, "{{ c.plain_name|sentence }}", bold=True)
    w.tag(doc, "{%p if c.bring %}")
    p = w.para(doc, after=8, indent_mm=8)
    w.run(p, "What to bring: {{ c.bring|sentence }}.")
    w.tag(doc, "{%p endif %}")
    w.tag(doc, "{%p endfor %}")


def signatory(doc: object, w: Writer) -> None:
    """The named person signing, when the practice has set one (Settings)."""
    w.tag(doc, "{%p if practice.signatory %}")
    w.para(doc, "{{ practice.signatory }}", after=0, keep_next=True)
    w.tag(doc, "{%p endif %}")


def interpreter(doc: object, w: Writer) -> None:
    w.tag(doc, "{%p if patient.interpreter %}")
    w.para(
        doc,
        "We can book an interpreter who speaks {{ patient.interpreter }}. "
        "Please ask for one when you book.",
    )
    w.tag(doc, "{%p endif %}")


OPENING = {
    1: (
        "Time for your yearly health review",
        [
            "It is time for {{ letter.review_phrase }}. "
            "The review helps you stay well. It is free, and it is just for you.",
        ],
    ),
    2: (
        "Reminder: please book your health review",
        [
            "We wrote to you a few weeks ago to ask you to book your yearly health review. "
            "We have not heard from you yet.",
            "The review helps you stay well. Please book it soon.",
        ],
    ),
    3: (
        "Last reminder: please book your health review",
        [
            "This is our third and last letter about your yearly health review.",
            "What this means: if we do not hear from you, we will not send you any more "
            "letters about your review this year. We will write in your record that we "
            "invited you and you did not book.",
            "You can still book your review at any time, and we are still here for anything "
            "else you need.",
        ],
    ),
}

EASY_OPENING = {
    1: (
        "Your health check",
        [
            "It is time for your yearly health check.",
            "The check helps you stay well.",
            "It is free.",
        ],
    ),
    2: (
        "Please book your health check",
        [
            "We wrote to you before.",
            "We asked you to book your health check.",
            "You have not booked yet.",
        ],
    ),
    3: (
        "Last letter about your health check",
        [
            "This is our last letter about your health check this year.",
            "If you do not book, we will not write again this year.",
            "We will write in your notes that we asked you.",
            "You can still book at any time.",
        ],
    ),
}


def large_conditions(doc: object, w: Writer) -> None:
    """Large print: the conditions' names only, so "How to book" still fits on page 1."""
    w.tag(doc, "{%p for c in conditions %}")
    p = w.para(doc, after=2, indent_mm=8, hanging_mm=6, keep_next=True)
    w.run(p, "•\t")
    w.run(p, "{{ c.plain_name|sentence }}", bold=True)
    w.tag(doc, "{%p endfor %}")


def large_bring(doc: object, w: Writer) -> None:
    """Large print: what to bring, per condition, after the booking details."""
    w.tag(doc, "{%p if letter.anything_to_bring %}")
    w.para(doc, "What to bring", size=w.look.heading - 2, bold=True, before=6, keep_next=True)
    w.tag(doc, "{%p for c in conditions %}")
    w.tag(doc, "{%p if c.bring %}")
    p = w.para(doc, after=6, indent_mm=8, hanging_mm=6)
    w.run(p, "•\t")
    w.run(p, "For {{ c.plain_name }}: {{ c.bring }}.")
    w.tag(doc, "{%p endif %}")
    w.tag(doc, "{%p endfor %}")
    w.tag(doc, "{%p endif %}")


def standard_letter(doc: object, w: Writer, stage: int) -> None:
    title, opening = OPENING[stage]
    w.para(doc, "Dear {{ patient.salutation }},")
    w.para(doc, title, size=w.look.heading, bold=True, before=6, keep_next=True)
    if w.look.large:  # page 1: the first sentence, the conditions and how to book
        w.para(doc, opening[0])
        w.tag(doc, "{%p if letter.names_conditions %}")  # else it repeats the opening
        w.para(doc, "Your review covers:", keep_next=True)
        large_conditions(doc, w)
        w.tag(doc, "{%p endif %}")
        how_to_book(doc, w)
        for text in opening[1:]:
            w.para(doc, text)
        large_bring(doc, w)
    else:
        for text in opening:
            w.para(doc, text)
        w.tag(doc, "{%p if letter.names_conditions %}")  # else it repeats the opening
        w.para(doc, "Your review covers:", keep_next=True)
        conditions_list(doc, w)
        w.tag(doc, "{%p endif %}")
        how_to_book(doc, w)
    interpreter(doc, w)
    w.para(
        doc,
        "If you do not want a review, or you have had one somewhere else, please let us "
        "know so we can update your record.",
    )
    formats = "easy read" if w.look.large else "large print, easy read"
    w.para(
        doc,
        f"If you would like this letter in {formats} or another format, please ask us.",
    )
    w.para(doc, "Best wishes,", before=6, keep_next=True)
    signatory(doc, w)
    w.para(doc, "The team at {{ practice.name }}", after=0)
    if w.look.large:
        w.tag(doc, "{%p for line in practice.address_lines %}")
        w.para(doc, "{{ line }}", after=0)
        w.tag(doc, "{%p endfor %}")
        w.para(doc, "Phone: {{ practice.phone }}", after=0)
        w.tag(doc, "{%p if practice.booking_url %}")
        w.para(doc, "{{ practice.booking_url }}", after=0)
        w.tag(doc, "{%p endif %}")


def _no_split(row: object) -> None:
    """The row (one easy-read section) is never split across two pages."""
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    tr_pr.append(OxmlElement("w:cantSplit"))


def section(doc: object, w: Writer, picture: str, fill: object) -> None:
    """One easy-read section: the pictogram on the left, the short sentences on the right."""
    table = doc.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.autofit = False
    widths = (PICTURE_COLUMN_MM, TEXT_COLUMN_MM)
    _grid(table, widths)
    row = table.rows[0]
    _no_split(row)
    pic, text = row.cells
    _set_cell_width(pic, widths[0])
    _set_cell_width(text, widths[1])
    pic.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP
    holder = w.para(pic, first=True, after=0)
    shape = holder.add_run().add_picture(
        io.BytesIO(PICTOGRAMS.pictogram(picture)),  # type: ignore[attr-defined]
        width=Mm(PICTURE_MM),
        height=Mm(PICTURE_MM),
    )
    shape._inline.docPr.set("descr", f"Picture: {picture}")  # what a screen reader says
    fill(text)  # type: ignore[operator]
    first = text.paragraphs[0]
    if not first.text and len(text.paragraphs) > 1:
        first._p.getparent().remove(first._p)  # the cell's own empty first paragraph
    w.para(doc, "", size=8, after=0, exact=10)  # keeps two sections' tables apart


def easy_letter(doc: object, w: Writer, stage: int) -> None:
    title, opening = EASY_OPENING[stage]
    w.para(doc, "Dear {{ patient.salutation }}", after=10)
    w.para(doc, title, size=w.look.heading, bold=True, keep_next=True, after=10)

    def when(cell: object) -> None:
        for text in opening:
            w.para(cell, text, after=10)

    def about(cell: object) -> None:
        w.para(cell, "The check is about:", bold=True, keep_next=True)
        w.tag(cell, "{%p for c in conditions %}")
        p = w.para(cell, after=4, indent_mm=10, hanging_mm=8)
        w.run(p, "•\t")
        w.run(p, "{{ c.plain_name|sentence }}")
        w.tag(cell, "{%p endfor %}")

    def bring(cell: object) -> None:
        w.para(cell, "Please bring:", bold=True, keep_next=True)
        w.tag(cell, "{%p for c in conditions %}")
        w.tag(cell, "{%p if c.easy_bring %}")
        p = w.para(cell, after=4, indent_mm=10, hanging_mm=8)
        w.run(p, "•\t")
        w.run(p, "{{ c.easy_bring|sentence }}")
        w.tag(cell, "{%p endif %}")
        w.tag(cell, "{%p endfor %}")

    def book(cell: object) -> None:
        w.para(cell, "How to book", bold=True, keep_next=True)
        w.para(cell, "Phone us on:", after=2, keep_next=True)  # never apart from the number
        w.para(cell, "{{ practice.phone }}", bold=True, after=10)
        w.tag(cell, "{%p if practice.booking_url %}")
        w.para(cell, "Or book on the internet:", after=2, keep_next=True)
        w.para(cell, "{{ practice.booking_url }}", after=10)
        w.tag(cell, "{%p endif %}")
        w.tag(cell, "{%p if patient.interpreter %}")
        w.para(cell, "We can get someone to help you in {{ patient.interpreter }}.", after=2)
        w.para(cell, "Ask us when you phone.", after=10)
        w.tag(cell, "{%p endif %}")

    def company(cell: object) -> None:
        w.para(cell, "You can bring someone with you.", after=10)
        w.para(cell, "If you do not want the check, please tell us.", after=10)
        w.para(cell, "From", after=2)  # signed in the same section: never alone on a page
        signatory(cell, w)
        w.para(cell, "{{ practice.name }}", bold=True, after=0)
        w.tag(cell, "{%p for line in practice.address_lines %}")
        w.para(cell, "{{ line }}", after=0)
        w.tag(cell, "{%p endfor %}")

    section(doc, w, "calendar", when)
    w.tag(doc, "{%p if letter.names_conditions %}")
    section(doc, w, "person", about)
    w.tag(doc, "{%p endif %}")
    w.tag(doc, "{%p if letter.anything_to_bring %}")
    section(doc, w, "pill", bring)
    w.tag(doc, "{%p endif %}")
    section(doc, w, "phone", book)
    section(doc, w, "people", company)


def page_setup(doc: object) -> None:
    section = doc.sections[0]  # type: ignore[attr-defined]
    section.page_width = Mm(210)
    section.page_height = Mm(297)
    section.top_margin = Mm(12)
    section.bottom_margin = Mm(15)
    section.left_margin = Mm(20)
    section.right_margin = Mm(20)
    section.header_distance = Mm(8)
    section.footer_distance = Mm(8)


def build(stage: int, variant: str) -> object:
    look = LOOKS[variant]
    doc = Document()
    page_setup(doc)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(look.body)
    w = Writer(look)
    header_block(doc, w)
    if variant == "easy_read":
        easy_letter(doc, w, stage)
    else:
        standard_letter(doc, w, stage)
    props = doc.core_properties
    props.title = f"Health review invitation: letter {stage} ({variant.replace('_', ' ')})"
    props.author = "recall"
    props.comments = "Template: edit the wording freely; see README 'Letter templates'."
    props.created = props.modified = dt.datetime(*FIXED_TIME)
    props.last_modified_by = "recall"
    props.revision = 1
    return doc


def file_name(stage: int, variant: str) -> str:
    return f"stage{stage}.docx" if variant == "standard" else f"stage{stage}_{variant}.docx"


def reproducible(doc: object) -> bytes:
    """The .docx bytes with fixed dates, so rebuilding unchanged wording changes nothing."""
    buf = io.BytesIO()
    doc.save(buf)  # type: ignore[attr-defined]
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info))
    return out.getvalue()


def main(out: Path = HERE) -> list[Path]:
    written = []
    for stage in (1, 2, 3):
        for variant in LOOKS:
            path = out / file_name(stage, variant)
            path.write_bytes(reproducible(build(stage, variant)))
            written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for p in main(target):
        print(p)
