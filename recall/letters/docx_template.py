"""A Word template compiled once, rendered per patient without re-reading the .docx.

docxtpl's way is to re-open the .docx, clean up the XML so Jinja tags split across Word runs
join up again (`patch_xml`), compile it, render, re-parse and save — for every letter. Here
the first three steps happen once: the document body is patched with docxtpl's own
`patch_xml` and compiled to one Jinja template; each letter is then one render of that
template plus a ZIP write that copies every other part, already compressed, from memory.
"""

from __future__ import annotations

import io
import re
import traceback
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from docxtpl import DocxTemplate
from jinja2 import Template, TemplateError, TemplateSyntaxError
from lxml import etree

from recall.letters.errors import TemplateProblem
from recall.letters.jinja_env import compile_template, make_environment
from recall.letters.limits import render_limited
from recall.letters.ziputil import PackedRun, ZipMember, ZipWriter, deflate, pack_run

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_BODY_OPEN = re.compile(r"<w:body(?:\s[^>]*)?>")
_PARA_START = re.compile(r"<w:p([ >])")
_TAGS = re.compile(r"<[^>]+>")
_SECT_TYPE = re.compile(r"<w:type\b[^>]*/>")
_TAG_IN_TEXT = re.compile(r"\{[{%#]")
_HEADERISH = re.compile(r"word/(header|footer|footnotes|endnotes)\d*\.xml$")


def _main_part_name(zf: zipfile.ZipFile) -> str:
    """The main document part, as the package relationships name it."""
    try:
        rels = etree.fromstring(zf.read("_rels/.rels"))
    except KeyError:
        return "word/document.xml"
    for rel in rels:
        if str(rel.get("Type", "")).endswith("/officeDocument"):
            return str(rel.get("Target", "word/document.xml")).lstrip("/")
    return "word/document.xml"


def paragraph_text(line: str, limit: int = 70) -> str:
    """The visible text of one template line (tags stripped), for error messages."""
    text = " ".join(_TAGS.sub("", line).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class CompiledDocx:
    """One .docx template, patched and compiled; render with `render_body` then `write`."""

    name: str
    path: Path | None
    main_part: str
    prefix: str
    sect_pr: str
    suffix: str
    source: str
    template: Template
    members: list[ZipMember]
    raw_parts: dict[str, bytes] = field(repr=False)
    # the parts before and after the document part, packed once (see ziputil.pack_run)
    _runs: tuple[PackedRun, PackedRun] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | str, *, name: str | None = None) -> CompiledDocx:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TemplateProblem(
                name or path.name, f"cannot read the file ({exc.strerror})"
            ) from None
        return cls.from_bytes(data, name=name or path.name, path=path)

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str, path: Path | None = None) -> CompiledDocx:
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            main = _main_part_name(zf)
            parts = {info.filename: zf.read(info) for info in zf.infolist()}
        except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError):
            raise TemplateProblem(name, "not a Word .docx file") from None
        if main not in parts:
            raise TemplateProblem(name, "not a Word .docx file (no document part)")
        for part_name, blob in parts.items():
            if _HEADERISH.match(part_name) and _TAG_IN_TEXT.search(
                paragraph_text(blob.decode("utf-8", "replace"), 10**9)
            ):
                raise TemplateProblem(
                    name,
                    f"template tags in {part_name.split('/')[-1]} are not filled in: "
                    "move them into the body of the letter",
                )
        prefix, body, sect, suffix = _split_document(name, parts[main])
        source = _patch(body)
        template = _compile(name, source)
        members = [deflate(n, b) for n, b in parts.items() if n != main]
        return cls(
            name=name,
            path=path,
            main_part=main,
            prefix=prefix,
            sect_pr=sect,
            suffix=suffix,
            source=source,
            template=template,
            members=members,
            raw_parts=parts,
        )

    def render_body(self, context: Mapping[str, Any]) -> str:
        """The body XML (without the final section properties) for one letter."""
        try:
            out = render_limited(self.template, context)
        except TemplateError as exc:
            line = template_line(exc)
            raise TemplateProblem(self.name, _describe(exc), line, self.near(line)) from None
        out = out.replace("\n<w:p", "<w:p")
        if "_" in out:
            out = (
                out.replace("{_{", "{{")
                .replace("}_}", "}}")
                .replace("{_%", "{%")
                .replace("%_}", "%}")
            )
        return out

    def near(self, line: int | None) -> str:
        if line is None:
            return ""
        lines = self.source.split("\n")
        return paragraph_text(lines[line - 1]) if 0 < line <= len(lines) else ""

    def document_xml(self, body: str) -> bytes:
        return (XML_DECL + self.prefix + body + self.sect_pr + self.suffix).encode("utf-8")

    def write(self, fh: BinaryIO, body: str) -> None:
        """Write one letter: the rendered body plus every other part copied from memory."""
        if self._runs is None:
            at = self._main_index
            self._runs = (pack_run(self.members[:at]), pack_run(self.members[at:]))
        zw = ZipWriter(fh)
        zw.add_run(self._runs[0])
        zw.add(deflate(self.main_part, self.document_xml(body), level=1))  # ~10 KB: speed first
        zw.add_run(self._runs[1])
        zw.close()

    def render_docx(self, context: Mapping[str, Any]) -> bytes:
        buf = io.BytesIO()
        self.write(buf, self.render_body(context))
        return buf.getvalue()

    @property
    def _main_index(self) -> int:
        """Where the document part sits among the package's parts (kept in template order)."""
        return list(self.raw_parts).index(self.main_part)

    @property
    def section_break(self) -> str:
        """This letter's page set-up as a section break (a new page) for the print file."""
        return _SECT_TYPE.sub("", self.sect_pr)


def _split_document(name: str, xml_bytes: bytes) -> tuple[str, str, str, str]:
    """Cut word/document.xml into prefix, body content, final sectPr and suffix strings."""
    try:
        root = etree.fromstring(xml_bytes)
    except etree.XMLSyntaxError as exc:
        raise TemplateProblem(name, f"the document XML is damaged ({exc.msg})") from None
    if root.prefix != "w" or root.nsmap.get("w") != W_NS:
        raise TemplateProblem(name, "not a Word document this tool can fill in")
    body = root.find(f"{{{W_NS}}}body")
    if body is None:
        raise TemplateProblem(name, "the document has no body")
    has_sect = len(body) > 0 and body[-1].tag == f"{{{W_NS}}}sectPr"
    xml = etree.tostring(root, encoding="unicode")
    opened = _BODY_OPEN.search(xml)
    end = xml.rfind("</w:body>")
    if opened is None or end < 0:
        raise TemplateProblem(name, "the document has no body")
    start = opened.end()
    sect_at = xml.rfind("<w:sectPr", start, end) if has_sect else end
    return xml[:start], xml[start:sect_at], xml[sect_at:end], xml[end:]


def _patch(body: str) -> str:
    """docxtpl's clean-up (joins tags Word split across runs, handles {%p %} etc.)."""
    patched = DocxTemplate.patch_xml(_PATCHER, body)
    # One paragraph per line, so Jinja's line numbers point at paragraphs.
    return _PARA_START.sub(r"\n<w:p\1", patched).lstrip("\n")


# patch_xml uses no document state, so an instance without a document will do.
_PATCHER: Any = DocxTemplate.__new__(DocxTemplate)


def _compile(name: str, source: str) -> Template:
    try:
        return compile_template(source)
    except TemplateSyntaxError as exc:
        lines = source.split("\n")
        line, message = syntax_problem(exc, source)
        near = paragraph_text(lines[line - 1]) if 0 < line <= len(lines) else ""
        raise TemplateProblem(name, message, line, near) from None


_BLOCKS = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "raw", "autoescape"})


def syntax_problem(exc: TemplateSyntaxError, source: str) -> tuple[int, str]:
    """The line and message to show; an unclosed block points at where it was opened
    (Jinja itself reports the end of the template, far from the mistake)."""
    message = exc.message or "syntax error"
    if "Unexpected end of template" not in message:
        return exc.lineno, message
    stack: list[tuple[int, str]] = []
    expect_name = False
    try:
        for lineno, kind, value in make_environment().lex(source):
            if kind == "whitespace":
                continue
            if kind == "block_begin":
                expect_name = True
                continue
            if expect_name and kind == "name":
                if value in _BLOCKS:
                    stack.append((lineno, value))
                elif value.startswith("end") and stack and stack[-1][1] == value[3:]:
                    stack.pop()
            expect_name = False
    except TemplateSyntaxError:
        return exc.lineno, message
    if not stack:
        return exc.lineno, message
    line, tag = stack[-1]
    return line, f"'{{% {tag} %}}' is never closed (add '{{% end{tag} %}}')"


def template_line(exc: BaseException) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line


def _describe(exc: TemplateError) -> str:
    msg = str(exc.message or exc)
    return msg.replace("'dict object' has no attribute", "unknown field")
