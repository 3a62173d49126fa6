"""One print-ready .docx holding every letter of a batch, built from the rendered bodies.

Each letter's body XML is appended as it is rendered (no letter is re-read), and every letter
but the last ends with its own section break: a new page that keeps the letter's own page
set-up (margins, paper size). The package around the bodies is the first template's.

A batch can mix templates (standard, large print, easy read) and practices edit them in Word,
so a template whose package differs from the first one is merged in once per batch: its
missing styles are added, its lists get fresh numbering ids and the parts its body links to
(pictures, hyperlinks, headers and footers) are copied under word/recallN/ with new
relationship ids. Each letter from it then only needs those ids rewritten.
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from recall.letters.docx_template import CompiledDocx
from recall.letters.errors import TemplateProblem
from recall.letters.ziputil import ZipMember, ZipWriter, deflate, write_zip

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
NUMBERING_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering"
NUMBERING_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"
_REL_ATTR = re.compile(r'(\br:(?:id|embed|link|pict)=")([^"]+)(")')
_NUM_ID = re.compile(r'(<w:numId w:val=")(\d+)(")')
_DOCPR_ID = re.compile(r'(<wp:docPr\b[^>]*?\bid=")(\d+)(")')
_SKIP_COMPARE = re.compile(r"^(docProps/|\[Content_Types\]\.xml$)")


def _rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def with_section_break(body: str, sect: str) -> str:
    """Put `sect` into the last paragraph of `body` (no extra empty paragraph, no blank page)."""
    if body.endswith("</w:p>"):
        start = max(body.rfind("<w:p>"), body.rfind("<w:p "))
        if start >= 0 and body.count("</w:p>", start) == 1:
            open_end = body.index(">", start) + 1
            if body.startswith("<w:pPr>", open_end):
                close = body.index("</w:pPr>", open_end)
                return body[:close] + sect + body[close:]
            return body[:open_end] + "<w:pPr>" + sect + "</w:pPr>" + body[open_end:]
    return body + "<w:p><w:pPr>" + sect + "</w:pPr></w:p>"


_SECT_CHILD_AFTER_TYPE = re.compile(
    r"<w:(pgSz|pgMar|paperSrc|pgBorders|lnNumType|pgNumType|cols)\b"
)


def odd_page(sect: str) -> str:
    """Make the section start on an odd page, so double-sided printing never puts one
    patient's letter on the back of another's."""
    at = _SECT_CHILD_AFTER_TYPE.search(sect)
    if at is None:
        close = sect.rfind("</w:sectPr>")
        if close < 0:  # <w:sectPr/>
            return sect[:-2] + '><w:type w:val="oddPage"/></w:sectPr>'
        return sect[:close] + '<w:type w:val="oddPage"/>' + sect[close:]
    return sect[: at.start()] + '<w:type w:val="oddPage"/>' + sect[at.start() :]


@dataclass
class _Merge:
    """What one foreign template adds to the print package, and how its ids change."""

    rel_map: dict[str, str] = field(default_factory=dict)
    num_map: dict[str, str] = field(default_factory=dict)

    def adapt(self, xml: str) -> str:
        if self.rel_map:
            xml = _REL_ATTR.sub(lambda m: m[1] + self.rel_map.get(m[2], m[2]) + m[3], xml)
        if self.num_map:
            xml = _NUM_ID.sub(lambda m: m[1] + self.num_map.get(m[2], m[2]) + m[3], xml)
        return xml


class PrintFile:
    """Collects rendered letters in print order and writes one .docx."""

    def __init__(
        self,
        base: CompiledDocx,
        *,
        duplex: bool = False,
        templates: Sequence[CompiledDocx] = (),
    ) -> None:
        self.base = base
        self.duplex = duplex  # each letter starts on a new sheet (odd page) when double-sided
        self._letters: list[tuple[str, str]] = []  # (body, section properties)
        self._has_hf = False  # some letter has its own header or footer
        self._merges: dict[int, Callable[[str], str] | None] = {id(base): None}
        self._new_parts: dict[str, bytes] = {}
        self._new_rels: list[tuple[str, str, str, bool]] = []  # id, type, target, external
        self._content_defaults: dict[str, str] = {}
        self._content_overrides: dict[str, str] = {}
        self._styles: list[etree._Element] = []
        self._numbering: etree._Element | None = None
        self._doc_rels = etree.fromstring(base.raw_parts.get(_rels_name(base.main_part), b"<x/>"))
        self._docpr = 0
        self._blank_ids: dict[str, str] = {}
        self.count = 0
        self._zip: ZipWriter | None = None
        self._pending: tuple[str, str] | None = None
        self._fix: Callable[[str], str] | None = None
        self._after: list[ZipMember] = []
        for tpl in templates:  # merged now, so the package is settled before streaming
            adapt = self._adapter(tpl)
            sect = adapt(tpl.section_break) if adapt is not None else tpl.section_break
            self._has_hf = self._has_hf or "Reference " in sect

    # -- adding letters -------------------------------------------------------------------
    def add(self, template: CompiledDocx, body: str) -> None:
        if self._zip is not None and key_of(template) not in self._merges:
            raise ValueError(f"{template.name} was not given to PrintFile before start()")
        adapt = self._adapter(template)
        sect = template.section_break
        if adapt is not None:
            body, sect = adapt(body), adapt(sect)
        if "<wp:docPr" in body:
            body = _DOCPR_ID.sub(self._next_docpr, body)
        self._has_hf = self._has_hf or "Reference " in sect
        self.count += 1
        if self._zip is None:
            self._letters.append((body, sect))
            return
        if self._pending is not None:
            self._emit(*self._pending, last=False)
        self._pending = (body, sect)

    # -- streaming: start(fh), add(...) per letter, finish() ---------------------------------
    def start(self, fh: BinaryIO) -> None:
        """Write the print file to `fh` (seekable) as letters are added: memory stays flat.

        Every template the batch uses must have been given to the constructor.
        """
        base = self.base
        self._fix = self._blank_refs() if self._has_hf else None
        changed = self._changed_parts()
        kept = {m.name: m for m in base.members}
        names = list(base.raw_parts)
        at = names.index(base.main_part)
        self._zip = ZipWriter(fh)

        def member(name: str) -> ZipMember:
            return deflate(name, changed.pop(name)) if name in changed else kept[name]

        for name in names[:at]:
            self._zip.add(member(name))
        self._after = [member(name) for name in names[at + 1 :]]
        self._after += [deflate(n, b) for n, b in {**changed, **self._new_parts}.items()]
        self._zip.begin(base.main_part, level=1)
        self._zip.write(
            ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + base.prefix).encode()
        )

    def _emit(self, body: str, sect: str, *, last: bool) -> None:
        assert self._zip is not None
        if self._fix is not None:
            sect = self._fix(sect)
        if self.duplex:
            sect = odd_page(sect)
        piece = body + sect if last else with_section_break(body, sect)
        self._zip.write(piece.encode())

    def finish(self) -> None:
        """End the document and write the rest of the package."""
        assert self._zip is not None, "start() first"
        if self._pending is None:
            self._pending = ("<w:p/>", self.base.sect_pr)
        self._emit(*self._pending, last=True)
        self._pending = None
        self._zip.write(self.base.suffix.encode())
        self._zip.end()
        for m in self._after:
            self._zip.add(m)
        self._zip.close()
        self._zip = None

    def _next_docpr(self, m: re.Match[str]) -> str:
        self._docpr += 1
        return f"{m[1]}{self._docpr}{m[3]}"

    # -- writing --------------------------------------------------------------------------
    def document_xml(self) -> bytes:
        base = self.base
        letters = self._letters or [("<w:p/>", base.sect_pr)]
        fix = self._blank_refs() if self._has_hf else None
        parts = [base.prefix]
        last = len(letters) - 1
        for n, (body, sect) in enumerate(letters):
            if fix is not None:
                sect = fix(sect)
            if self.duplex:
                sect = odd_page(sect)
            parts.append(with_section_break(body, sect) if n < last else body + sect)
        parts.append(base.suffix)
        xml = "".join(parts)
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml).encode()

    def _blank_refs(self) -> Callable[[str], str] | None:
        """A letter without a header or footer must not inherit the previous letter's:
        Word carries them over between sections, so give such letters blank ones."""
        if 'xmlns:r="' not in self.base.prefix:
            return None
        refs = {}
        word = posixpath.dirname(self.base.main_part)
        for kind, root in (("header", "hdr"), ("footer", "ftr")):
            name = f"recall-blank-{kind}.xml"
            if posixpath.join(word, name) not in self._new_parts:
                self._new_parts[posixpath.join(word, name)] = (
                    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    f'<w:{root} xmlns:w="{W}"><w:p/></w:{root}>'
                ).encode()
                self._content_overrides["/" + posixpath.join(word, name)] = (
                    f"application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}+xml"
                )
                self._blank_ids[kind] = self._add_rel(
                    f"http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}",
                    name,
                    external=False,
                )
            refs[kind] = self._blank_ids[kind]

        def fix(sect: str) -> str:
            add = "".join(
                f'<w:{kind}Reference w:type="default" r:id="{rid}"/>'
                for kind, rid in refs.items()
                if not re.search(rf'<w:{kind}Reference\b[^>]*w:type="default"', sect)
            )
            if not add:
                return sect
            open_end = sect.index(">") + 1
            if sect[open_end - 2] == "/":  # <w:sectPr/>
                sect = sect[: open_end - 2] + "></w:sectPr>"
                open_end -= 1
            return sect[:open_end] + add + sect[open_end:]

        return fix

    def write(self, fh: BinaryIO) -> None:
        base = self.base
        document = self.document_xml()
        changed = self._changed_parts()
        members: list[ZipMember] = []
        names = [n for n in base.raw_parts]
        kept = {m.name: m for m in base.members}
        for name in names:
            if name == base.main_part:
                members.append(deflate(name, document, level=1))
            elif name in changed:
                members.append(deflate(name, changed.pop(name)))
            else:
                members.append(kept[name])
        for name, blob in {**changed, **self._new_parts}.items():
            members.append(deflate(name, blob))
        write_zip(fh, members)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.write(buf)
        return buf.getvalue()

    def _changed_parts(self) -> dict[str, bytes]:
        base = self.base
        out: dict[str, bytes] = {}
        word = posixpath.dirname(base.main_part)
        if self._styles:
            name = self._part_for_rel("/styles") or posixpath.join(word, "styles.xml")
            root = etree.fromstring(base.raw_parts[name])
            for style in self._styles:
                root.append(style)
            out[name] = etree.tostring(
                root, xml_declaration=True, encoding="UTF-8", standalone=True
            )
        if self._numbering is not None:
            found = self._part_for_rel("/numbering")
            if found is None:
                found = posixpath.join(word, "numbering.xml")
                self._add_rel(NUMBERING_REL, "numbering.xml", external=False)
                self._content_overrides["/" + found] = NUMBERING_CT
            out[found] = etree.tostring(
                self._numbering, xml_declaration=True, encoding="UTF-8", standalone=True
            )
        if self._new_rels:
            rels = _rels_name(base.main_part)
            root = etree.fromstring(
                base.raw_parts.get(rels, f'<Relationships xmlns="{PKG_REL}"/>'.encode())
            )
            for rid, rtype, target, external in self._new_rels:
                el = etree.SubElement(root, f"{{{PKG_REL}}}Relationship")
                el.set("Id", rid)
                el.set("Type", rtype)
                el.set("Target", target)
                if external:
                    el.set("TargetMode", "External")
            out[rels] = etree.tostring(
                root, xml_declaration=True, encoding="UTF-8", standalone=True
            )
        if self._content_defaults or self._content_overrides:
            root = etree.fromstring(base.raw_parts["[Content_Types].xml"])
            have = {
                str(d.get("Extension", "")).lower() for d in root if d.tag == f"{{{CT}}}Default"
            }
            for ext, ctype in self._content_defaults.items():
                if ext.lower() not in have:
                    el = etree.Element(f"{{{CT}}}Default")
                    el.set("Extension", ext)
                    el.set("ContentType", ctype)
                    root.insert(0, el)
            for part, ctype in self._content_overrides.items():
                el = etree.SubElement(root, f"{{{CT}}}Override")
                el.set("PartName", part)
                el.set("ContentType", ctype)
            out["[Content_Types].xml"] = etree.tostring(
                root, xml_declaration=True, encoding="UTF-8", standalone=True
            )
        return out

    # -- merging a foreign template, once per template -------------------------------------
    def _adapter(self, tpl: CompiledDocx) -> Callable[[str], str] | None:
        key = key_of(tpl)
        if key not in self._merges:
            self._merges[key] = self._merge(tpl)
        return self._merges[key]

    def _same_package(self, tpl: CompiledDocx) -> bool:
        mine = {n: b for n, b in self.base.raw_parts.items() if not _SKIP_COMPARE.match(n)}
        theirs = {n: b for n, b in tpl.raw_parts.items() if not _SKIP_COMPARE.match(n)}
        mine.pop(self.base.main_part, None)
        theirs.pop(tpl.main_part, None)
        return mine == theirs

    def _merge(self, tpl: CompiledDocx) -> Callable[[str], str] | None:
        if self._same_package(tpl):
            return None
        merge = _Merge()
        self._merge_styles(tpl)
        self._merge_numbering(tpl, merge)
        self._merge_rels(tpl, merge)
        return merge.adapt if (merge.rel_map or merge.num_map) else None

    def _part_for_rel(self, suffix: str, rels: etree._Element | None = None) -> str | None:
        root = self._doc_rels if rels is None else rels
        for rel in root:
            if str(rel.get("Type", "")).endswith(suffix) and rel.get("TargetMode") != "External":
                return _resolve(self.base.main_part, str(rel.get("Target")))
        return None

    def _merge_styles(self, tpl: CompiledDocx) -> None:
        rels = etree.fromstring(tpl.raw_parts.get(_rels_name(tpl.main_part), b"<x/>"))
        theirs_name = _part_for(tpl, rels, "/styles")
        mine_name = self._part_for_rel("/styles")
        if theirs_name is None or mine_name is None:
            return
        have = {
            s.get(f"{{{W}}}styleId")
            for s in etree.fromstring(self.base.raw_parts[mine_name]).iter(f"{{{W}}}style")
        }
        have.update(s.get(f"{{{W}}}styleId") for s in self._styles)
        for style in etree.fromstring(tpl.raw_parts[theirs_name]).iter(f"{{{W}}}style"):
            if style.get(f"{{{W}}}styleId") not in have:
                self._styles.append(style)

    def _merge_numbering(self, tpl: CompiledDocx, merge: _Merge) -> None:
        used = {m[2] for m in _NUM_ID.finditer(tpl.source)} - {"0"}
        if not used:
            return
        rels = etree.fromstring(tpl.raw_parts.get(_rels_name(tpl.main_part), b"<x/>"))
        theirs_name = _part_for(tpl, rels, "/numbering")
        if theirs_name is None:
            return
        theirs = etree.fromstring(tpl.raw_parts[theirs_name])
        if self._numbering is None:
            mine_name = self._part_for_rel("/numbering")
            if mine_name is None:
                self._numbering = etree.Element(f"{{{W}}}numbering", nsmap=theirs.nsmap)
            else:
                self._numbering = etree.fromstring(self.base.raw_parts[mine_name])
        numbering = self._numbering
        val = f"{{{W}}}val"
        abstract_id = f"{{{W}}}abstractNumId"
        num_id = f"{{{W}}}numId"
        next_abs = 1 + max(
            (int(a.get(abstract_id, 0)) for a in numbering.iter(f"{{{W}}}abstractNum")), default=0
        )
        next_num = 1 + max(
            (int(n.get(num_id, 0)) for n in numbering.iter(f"{{{W}}}num")), default=0
        )
        abstracts = {a.get(abstract_id): a for a in theirs.iter(f"{{{W}}}abstractNum")}
        nums = {n.get(num_id): n for n in theirs.iter(f"{{{W}}}num")}
        abs_map: dict[str, str] = {}
        for old in sorted(used):
            num = nums.get(old)
            if num is None:
                continue
            ref = num.find(f"{{{W}}}abstractNumId")
            old_abs = ref.get(val) if ref is not None else None
            if old_abs is not None and old_abs not in abs_map and old_abs in abstracts:
                copy = etree.fromstring(etree.tostring(abstracts[old_abs]))
                copy.set(abstract_id, str(next_abs))
                for nsid in copy.iter(f"{{{W}}}nsid"):
                    copy.remove(nsid)
                abs_map[old_abs] = str(next_abs)
                next_abs += 1
                first_num = next(iter(numbering.iter(f"{{{W}}}num")), None)
                if first_num is not None:
                    first_num.addprevious(copy)
                else:
                    numbering.append(copy)
            new = etree.fromstring(etree.tostring(num))
            new.set(num_id, str(next_num))
            ref = new.find(f"{{{W}}}abstractNumId")
            if ref is not None and old_abs in abs_map:
                ref.set(val, abs_map[old_abs])
            numbering.append(new)
            merge.num_map[old] = str(next_num)
            next_num += 1

    def _add_rel(self, rtype: str, target: str, *, external: bool) -> str:
        taken = {str(r.get("Id")) for r in self._doc_rels} | {r[0] for r in self._new_rels}
        n = len(taken) + 1
        while f"rIdP{n}" in taken:
            n += 1
        rid = f"rIdP{n}"
        self._new_rels.append((rid, rtype, target, external))
        return rid

    def _merge_rels(self, tpl: CompiledDocx, merge: _Merge) -> None:
        used = {m[2] for m in _REL_ATTR.finditer(tpl.source + tpl.sect_pr)}
        if not used:
            return
        rels = etree.fromstring(tpl.raw_parts.get(_rels_name(tpl.main_part), b"<x/>"))
        by_id = {str(r.get("Id")): r for r in rels}
        prefix = f"recall{len(self._merges)}"
        word = posixpath.dirname(tpl.main_part)
        types = etree.fromstring(tpl.raw_parts["[Content_Types].xml"])
        for rid in sorted(used):
            rel = by_id.get(rid)
            if rel is None:
                continue
            rtype, target = str(rel.get("Type")), str(rel.get("Target"))
            if rel.get("TargetMode") == "External":
                merge.rel_map[rid] = self._add_rel(rtype, target, external=True)
                continue
            source = _resolve(tpl.main_part, target)
            if not source.startswith(word + "/"):
                raise TemplateProblem(tpl.name, f"links to {source}, which cannot be combined")
            inner = source[len(word) + 1 :]
            self._copy_part(tpl, types, source, posixpath.join(word, prefix, inner))
            merge.rel_map[rid] = self._add_rel(rtype, f"{prefix}/{inner}", external=False)

    def _copy_part(self, tpl: CompiledDocx, types: etree._Element, source: str, dest: str) -> None:
        if dest in self._new_parts or source not in tpl.raw_parts:
            return
        self._new_parts[dest] = tpl.raw_parts[source]
        for el in types:
            if el.tag == f"{{{CT}}}Override" and el.get("PartName") == "/" + source:
                self._content_overrides["/" + dest] = str(el.get("ContentType"))
        ext = posixpath.splitext(source)[1].lstrip(".")
        for el in types:
            if el.tag == f"{{{CT}}}Default" and str(el.get("Extension", "")).lower() == ext.lower():
                self._content_defaults[ext] = str(el.get("ContentType"))
        rels_name = _rels_name(source)
        if rels_name in tpl.raw_parts:
            self._new_parts[_rels_name(dest)] = tpl.raw_parts[rels_name]
            for rel in etree.fromstring(tpl.raw_parts[rels_name]):
                if rel.get("TargetMode") == "External":
                    continue
                child = _resolve(source, str(rel.get("Target")))
                rel_dest = posixpath.normpath(
                    posixpath.join(posixpath.dirname(dest), str(rel.get("Target")))
                )
                self._copy_part(tpl, types, child, rel_dest)


def key_of(tpl: CompiledDocx) -> int:
    return id(tpl)


def _part_for(tpl: CompiledDocx, rels: etree._Element, suffix: str) -> str | None:
    for rel in rels:
        if str(rel.get("Type", "")).endswith(suffix) and rel.get("TargetMode") != "External":
            return _resolve(tpl.main_part, str(rel.get("Target")))
    return None
