"""Letters layer: shipped templates, rendering, escaping, sandbox, print file, SMS (no database)."""

from __future__ import annotations

import base64
import dataclasses
import io
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from docx.shared import Pt

from recall.letters import (
    CompiledDocx,
    PrintFile,
    SmsTemplate,
    TemplateProblem,
    TemplateSet,
    check_template,
    choose_variant,
    normalise_mobile,
    parse_needs,
    sample_context,
    sms_context,
    sms_length,
)
from recall.letters.check import docx_text
from recall.letters.context import PatientInfo, PracticeInfo
from recall.letters.templates import all_template_names, template_name
from recall.resources import templates_dir

SHIPPED = templates_dir()
STAGE_WORDING = {
    ("standard", 1): "Time for your yearly health review",
    ("standard", 2): "We have not heard from you yet",
    ("standard", 3): "This is our third and last letter",
    ("large_print", 1): "Time for your yearly health review",
    ("large_print", 2): "We have not heard from you yet",
    ("large_print", 3): "This is our third and last letter",
    ("easy_read", 1): "It is time for your yearly health check",
    ("easy_read", 2): "You have not booked yet",
    ("easy_read", 3): "This is our last letter about your health check",
}
VARIANTS = ("standard", "large_print", "easy_read")


def _open(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def _text(data: bytes) -> str:
    return "\n".join(docx_text(_open(data)))


@pytest.mark.parametrize("name", all_template_names())
def test_every_shipped_template_checks_clean(name: str) -> None:
    report = check_template(SHIPPED / name)
    assert report.ok, [str(p) for p in report.problems]
    assert report.sample


@pytest.mark.parametrize("stage", [1, 2, 3])
@pytest.mark.parametrize("variant", VARIANTS)
def test_letter_holds_name_conditions_and_stage_wording(stage: int, variant: str) -> None:
    tpl = CompiledDocx.load(SHIPPED / template_name(stage, variant))
    ctx = sample_context(stage, variant)
    text = _text(tpl.render_docx(ctx.as_context()))
    assert "Zoë O'Brien & <Sons>" in text
    assert "943 476 5919" in text
    assert "27 November 2026" in text
    assert "LS1 4AP" in text
    assert "0113 496 0000" in text
    for cond in ctx.conditions:
        assert cond.plain_name.capitalize() in text
        if variant == "easy_read":  # its own short words, not the standard sentence
            assert cond.easy_bring[0].upper() + cond.easy_bring[1:] in text
            assert cond.bring not in text.lower()
        elif variant == "large_print":  # after "How to book", each with its condition
            assert f"For {cond.plain_name}: {cond.bring}." in text
        else:
            assert cond.bring[0].upper() + cond.bring[1:] in text
    assert STAGE_WORDING[(variant, stage)] in text
    others = {w for (v, s), w in STAGE_WORDING.items() if v == variant and s != stage}
    assert not any(w in text for w in others)
    if stage == 3:
        assert "not" in text and "any" in text.lower()


@pytest.mark.parametrize("variant", ["large_print", "easy_read"])
def test_accessible_variants_use_20pt_sans_serif_everywhere(variant: str) -> None:
    tpl = CompiledDocx.load(SHIPPED / template_name(1, variant))
    doc = _open(tpl.render_docx(sample_context(1, variant).as_context()))
    runs = [r for p in doc.paragraphs for r in p.runs if r.text.strip()]
    runs += [
        r
        for t in doc.tables
        for row in t.rows
        for cell in row.cells
        for p in cell.paragraphs
        for r in p.runs
        if r.text.strip()
    ]
    assert len(runs) > 20
    for run in runs:
        assert run.font.size is not None and run.font.size >= Pt(20), run.text
        assert run.font.name == "Arial", run.text


def test_standard_letter_is_at_least_11pt_arial() -> None:
    tpl = CompiledDocx.load(SHIPPED / "stage1.docx")
    doc = _open(tpl.render_docx(sample_context().as_context()))
    for p in doc.paragraphs:
        for r in p.runs:
            if r.text.strip():
                assert r.font.size is not None and r.font.size >= Pt(11)
                assert r.font.name == "Arial"


def test_special_characters_survive_and_file_stays_valid() -> None:
    ctx = sample_context()
    awkward = dataclasses.replace(
        ctx,
        patient=dataclasses.replace(
            ctx.patient,
            first_name='Siân "Jo"\x07',
            last_name="O'Brien & <Sons> </w:t>]]>",
            address_lines=("Flat 1 & 2 <rear>", "Ynys Môn\nLL77 7AA"),
        ),
        practice=PracticeInfo(name="St Mary's & <All> Saints", phone="01234 567890"),
    )
    tpl = CompiledDocx.load(SHIPPED / "stage2.docx")
    data = tpl.render_docx(awkward.as_context())
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "&lt;Sons&gt;" in xml and "&amp;" in xml
    text = _text(data)
    assert 'Siân "Jo" O\'Brien & <Sons> </w:t>]]>' in text
    assert "Flat 1 & 2 <rear>" in text
    assert "Ynys Môn LL77 7AA" in text  # a newline in a value becomes a space
    assert "St Mary's & <All> Saints" in text


def _docx_with(*paragraphs: str, path: Path) -> Path:
    d = docx.Document()
    for text in paragraphs:
        d.add_paragraph(text)
    d.save(str(path))
    return path


def test_syntax_error_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _docx_with(
        "Hello",
        "{{ patient.first_name }}",
        "{% if letter.is_last %}",
        "x",
        path=tmp_path / "b.docx",
    )
    with pytest.raises(TemplateProblem) as err:
        CompiledDocx.load(path)
    assert err.value.line == 3  # the unclosed {% if %}
    report = check_template(path)
    assert not report.ok and report.problems[0].kind == "syntax"
    assert report.problems[0].line == 3


def test_unclosed_block_points_at_where_it_opened(tmp_path: Path) -> None:
    paras = ["Dear {{ patient.first_name }}", "{% if letter.is_last %}Last letter", "Text"]
    paras += [f"{{% for c in conditions %}}{{{{ c.name }}}}{{% endfor %}} {n}" for n in range(20)]
    path = _docx_with(*paras, path=tmp_path / "open.docx")
    report = check_template(path)
    assert [(p.line, p.message) for p in report.problems] == [
        (2, "'{% if %}' is never closed (add '{% endif %}')")
    ]
    sms = tmp_path / "sms.txt.j2"
    sms.write_text(
        "Hello\n{% if letter.is_last %}\nlast\n{% if practice.phone %}x{% endif %}\nend\n"
    )
    assert [p.line for p in check_template(sms).problems] == [2]


def test_broken_tag_line_points_at_its_paragraph(tmp_path: Path) -> None:
    path = _docx_with(
        "Dear",
        "Ok {{ patient.first_name }}",
        "Bad {{ patient.first_name ",
        "End",
        path=tmp_path / "c.docx",
    )
    with pytest.raises(TemplateProblem) as err:
        CompiledDocx.load(path)
    assert err.value.line == 3
    assert "Bad" in err.value.near


def test_unknown_variables_are_reported_with_lines(tmp_path: Path) -> None:
    path = _docx_with(
        "Dear {{ patient.frist_name }}",
        "{{ doctor }}",
        "{% for c in conditions %}{{ c.plain }}{% endfor %}",
        "{% for line in patient.address_lines %}{{ line }}{% endfor %}",
        path=tmp_path / "u.docx",
    )
    report = check_template(path)
    found = {(p.line, p.message.split(" (")[0]) for p in report.problems}
    assert found == {
        (1, "unknown field 'patient.frist_name'"),
        (2, "unknown variable 'doctor'"),
        (3, "unknown field 'c.plain'"),
    }


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    path = _docx_with(
        "{{ patient.first_name.__class__.__mro__[1].__subclasses__() }}", path=tmp_path / "s.docx"
    )
    tpl = CompiledDocx.load(path)
    with pytest.raises(TemplateProblem) as err:
        tpl.render_docx(sample_context().as_context())
    assert err.value.line == 1


def test_tags_in_a_footer_are_refused(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("Body")
    d.sections[0].footer.paragraphs[0].text = "{{ practice.name }}"
    d.save(str(tmp_path / "f.docx"))
    with pytest.raises(TemplateProblem, match="footer"):
        CompiledDocx.load(tmp_path / "f.docx")


def test_variant_follows_communication_needs() -> None:
    assert choose_variant(parse_needs("")) == "standard"
    assert choose_variant(parse_needs("large_print")) == "large_print"
    assert choose_variant(parse_needs("Large_Print; easy_read")) == "easy_read"
    assert choose_variant(parse_needs("braille;no_sms")) == "standard"
    assert parse_needs("interpreter: Polish ;no_sms") == ("interpreter:Polish", "no_sms")


def test_print_file_mixes_variants_one_section_per_letter() -> None:
    ts = TemplateSet([SHIPPED])
    names = ["Ann Able", "Bob Baker", "Cat Cole", "Dan Dee"]
    variants = ["standard", "large_print", "easy_read", "standard"]
    base = ts.letter(2, "standard")
    pf = PrintFile(base)
    ctx = sample_context(2)
    for name, variant in zip(names, variants, strict=True):
        first, last = name.split()
        c = dataclasses.replace(
            ctx,
            patient=dataclasses.replace(ctx.patient, first_name=first, last_name=last),
            variant=variant,
        )
        tpl = ts.letter(2, variant)
        pf.add(tpl, tpl.render_body(c.as_context()))
    doc = _open(pf.to_bytes())
    assert len(doc.sections) == 4
    for section in doc.sections:
        assert section.page_width is not None and section.page_height is not None
        assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    text = "\n".join(docx_text(doc))
    positions = [text.index(f"Mrs {n}") for n in names]
    assert positions == sorted(positions)
    assert text.count("We have not heard from you yet") == 3  # 2 standard + 1 large print
    assert text.count("We wrote to you before.") == 1  # easy read


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_print_file_merges_a_template_with_its_own_picture(tmp_path: Path) -> None:
    """A practice adds a logo in Word: its letters still combine with the others."""
    (tmp_path / "logo.png").write_bytes(PNG)
    d = docx.Document()
    d.add_picture(str(tmp_path / "logo.png"))
    d.add_paragraph("Logo letter for {{ patient.full_name }}", style="List Number")
    d.save(str(tmp_path / "logo.docx"))
    logo = CompiledDocx.load(tmp_path / "logo.docx")
    plain = CompiledDocx.load(SHIPPED / "stage1.docx")
    pf = PrintFile(plain)
    ctx = sample_context().as_context()
    for tpl in (plain, logo, logo, plain):
        pf.add(tpl, tpl.render_body(ctx))
    data = pf.to_bytes()
    doc = _open(data)
    assert len(doc.sections) == 4
    assert len(doc.inline_shapes) == 2
    for shape in doc.inline_shapes:
        blip = shape._inline.graphic.graphicData.pic.blipFill.blip
        assert doc.part.related_parts[blip.embed].blob == PNG
    z = zipfile.ZipFile(io.BytesIO(data))
    assert len(z.namelist()) == len(set(z.namelist()))


def test_rendering_twice_gives_identical_bytes() -> None:
    tpl = CompiledDocx.load(SHIPPED / "stage1.docx")
    ctx = sample_context().as_context()
    assert tpl.render_docx(ctx) == tpl.render_docx(ctx)


def test_shipped_sms_fits_two_fragments_without_clinical_detail() -> None:
    tpl = SmsTemplate.load(SHIPPED / "sms.txt.j2")
    practice = PracticeInfo(
        name="The Very Long Named Riverside Medical Practice & Partners",
        phone="01234 567890",
        booking_url="https://www.riversidemedicalpractice.nhs.uk/appointments/book-online",
    )
    ctx = sample_context()
    for stage in (1, 2, 3):
        text = tpl.render_checked(sms_context(practice, stage, ctx.letter_date))
        size = sms_length(text)
        assert size.fragments <= 2 and size.characters <= 306, (stage, size)
        assert "long-term condition review" in text
        for word in ("diabetes", "blood pressure", "asthma", ctx.patient.first_name):
            assert word not in text


def test_too_long_sms_is_refused() -> None:
    tpl = SmsTemplate.from_source("{{ practice.name }} " + "x" * 300, name="long.j2")
    practice = PracticeInfo(name="Oak Surgery")
    with pytest.raises(TemplateProblem, match="SMS fragments"):
        tpl.render_checked(sms_context(practice, 1, sample_context().letter_date))


def test_sms_template_may_not_use_patient_details(tmp_path: Path) -> None:
    path = tmp_path / "sms.txt.j2"
    path.write_text(
        "Hello {{ patient.first_name }}\n{% for c in conditions %}{{ c.name }}{% endfor %}\n"
    )
    report = check_template(path)
    assert {p.line for p in report.problems} == {1, 2}


def test_sms_length_rules() -> None:
    assert sms_length("a" * 160).fragments == 1
    assert sms_length("a" * 161).fragments == 2
    assert sms_length("a" * 306).fragments == 2
    assert sms_length("a" * 307).fragments == 3
    assert sms_length("€" * 80).characters == 160  # extended characters count twice
    assert sms_length("ŵ" + "a" * 69).encoding == "UCS-2"
    assert sms_length("ŵ" + "a" * 70).fragments == 2


def test_mobile_numbers_normalised_like_notify() -> None:
    assert normalise_mobile("07700 900123") == "07700900123"
    assert normalise_mobile("+44 (0)7700-900123") is None  # the (0) leaves 11 digits
    assert normalise_mobile("+447700900123") == "07700900123"
    assert normalise_mobile("0044 7700 900123") == "07700900123"
    assert normalise_mobile("01132 496000") is None
    assert normalise_mobile("") is None


def test_patient_context_fields() -> None:
    p = PatientInfo(
        first_name="Ann",
        last_name="Lee",
        nhs_number="9434765919",
        postcode="LS1 1AA",
        address_lines=("1 Road", ""),
    )
    ctx = p.as_context()
    assert ctx["salutation"] == "Ann Lee"
    assert ctx["address_lines"] == ["1 Road", "LS1 1AA"]
    assert ctx["nhs_number"] == "943 476 5919"


def test_shipped_docx_files_are_what_the_build_script_makes(tmp_path: Path) -> None:
    import importlib.util

    script = Path(__file__).resolve().parent.parent / "letter_templates" / "build_templates.py"
    spec = importlib.util.spec_from_file_location("build_templates", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_templates"] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["build_templates"]
    built = module.main(tmp_path)
    assert len(built) == 9
    for path in built:
        assert path.read_bytes() == (script.parent / path.name).read_bytes(), path.name


def test_print_file_keeps_a_foreign_templates_footer(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_paragraph("Footer letter for {{ patient.full_name }}")
    d.sections[0].footer.paragraphs[0].text = "Oak Surgery, registered in England"
    d.save(str(tmp_path / "footer.docx"))
    foreign = CompiledDocx.load(tmp_path / "footer.docx")
    plain = CompiledDocx.load(SHIPPED / "stage1.docx")
    pf = PrintFile(plain)
    ctx = sample_context().as_context()
    for tpl in (plain, foreign, plain):
        pf.add(tpl, tpl.render_body(ctx))
    doc = _open(pf.to_bytes())
    assert len(doc.sections) == 3
    footer = doc.sections[1].footer
    assert not footer.is_linked_to_previous
    assert footer.paragraphs[0].text == "Oak Surgery, registered in England"
    for n in (0, 2):  # letters around it get a blank footer, not the one before them
        assert not doc.sections[n].footer.is_linked_to_previous
        assert doc.sections[n].footer.paragraphs[0].text == ""
    assert _open(pf.to_bytes()).sections[1].footer.paragraphs[0].text.startswith("Oak")


def test_sandbox_refuses_changing_the_context(tmp_path: Path) -> None:
    path = _docx_with(
        "{{ conditions.append(1) }}{{ patient.update({'x': 1}) }}", path=tmp_path / "m.docx"
    )
    with pytest.raises(TemplateProblem):
        CompiledDocx.load(path).render_docx(sample_context().as_context())


def test_duplex_print_file_starts_every_letter_on_a_new_sheet() -> None:
    from docx.enum.section import WD_SECTION

    tpl = CompiledDocx.load(SHIPPED / "stage1.docx")
    ctx = sample_context().as_context()
    plain, duplex = PrintFile(tpl), PrintFile(tpl, duplex=True)
    for _ in range(3):
        body = tpl.render_body(ctx)
        plain.add(tpl, body)
        duplex.add(tpl, body)
    assert {s.start_type for s in _open(plain.to_bytes()).sections} == {WD_SECTION.NEW_PAGE}
    assert {s.start_type for s in _open(duplex.to_bytes()).sections} == {WD_SECTION.ODD_PAGE}


@pytest.mark.parametrize("duplex", [False, True])
def test_streamed_print_file_is_the_same_document(tmp_path: Path, duplex: bool) -> None:
    """Streaming letters straight to disk (memory flat in the batch size) gives the very
    bytes the in-memory print file gives, and Word's reader opens it."""
    ts = TemplateSet([SHIPPED])
    variants = ["standard", "large_print", "easy_read", "standard", "easy_read"]
    templates = {v: ts.letter(1, v) for v in variants}
    ctx = sample_context(1)
    bodies = [
        (templates[v], templates[v].render_body(dataclasses.replace(ctx, variant=v).as_context()))
        for v in variants
    ]
    in_memory = PrintFile(templates["standard"], duplex=duplex)
    streamed = PrintFile(templates["standard"], duplex=duplex, templates=list(templates.values()))
    path = tmp_path / "print.docx"
    with path.open("wb") as fh:
        streamed.start(fh)
        for tpl, body in bodies:
            in_memory.add(tpl, body)
            streamed.add(tpl, body)
        streamed.finish()
    assert path.read_bytes() == in_memory.to_bytes()
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    assert len(docx.Document(str(path)).sections) == len(variants)
