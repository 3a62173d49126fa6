"""Staff-edited templates cannot turn escaping off, reach other files, or exhaust the machine
(issue 13 item 8); `batch letters` runs exactly the checks `letters check` runs."""

from __future__ import annotations

import io
import time
from pathlib import Path

import docx
import pytest
from test_letters_service import seed

from recall.letters import CompiledDocx, SmsTemplate, TemplateProblem, check_template, limits
from recall.letters.check import docx_text
from recall.letters.context import sample_context
from recall.services.errors import Refused
from recall.services.letters import render_batch_letters
from recall.store.db import Database


def docx_with(*paragraphs: str, path: Path) -> Path:
    d = docx.Document()
    for text in paragraphs:
        d.add_paragraph(text)
    d.save(str(path))
    return path


def render(tmp_path: Path, *paragraphs: str) -> bytes:
    tpl = CompiledDocx.load(docx_with(*paragraphs, path=tmp_path / "t.docx"))
    return tpl.render_docx(sample_context().as_context())


@pytest.mark.parametrize(
    "expression",
    [
        "{{ 'x'.ljust(300000000) }}",
        "{{ 'x'.center(300000000) }}",
        "{{ 'x'['zfill'](300000000) }}",
        "{{ 'x' * 300000000 }}",
        "{{ ['x'] * 300000000 }}",
        "{{ '{:300000000}'.format('x') }}",
        "{{ '{:{}}'.format('x', 300000000) }}",
        "{{ '%300000000s' % 'x' }}",
        "{{ '%*s' % (300000000, 'x') }}",
        "{{ 'x'|center(300000000) }}",
        "{{ '%300000000s'|format('x') }}",
        "{{ 9 ** 999999 }}",
        "{{ ('x' * 10000).replace('x', 'y' * 10000) }}",
        "{% for i in range(100000) %}{% endfor %}",
        "{% set ns = namespace(x='x') %}{% for i in range(60) %}{% set ns.x = ns.x ~ ns.x %}"
        "{% endfor %}",
        "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
        "{{ f('x', 60) }}",
    ],
)
def test_oversized_values_fail_fast_naming_template_and_limit(
    tmp_path: Path, expression: str
) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateProblem) as err:
        render(tmp_path, "Dear {{ patient.first_name }}", expression)
    assert time.monotonic() - started < 3
    assert err.value.template == "t.docx" and err.value.line == 2
    assert "limit" in err.value.message or "not allowed" in err.value.message


def test_a_letter_growing_past_its_size_limit_is_refused(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateProblem, match=r"filled-in letter .* limit of 5,000,000"):
        render(tmp_path, "{% for i in range(10000) %}{{ 'x'.ljust(9000) }}{% endfor %}")
    assert time.monotonic() - started < 3


def test_long_loops_stop_at_the_render_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(TemplateProblem, match=r"longer than 0\.5 seconds") as err:
        render(
            tmp_path,
            "Dear",
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        )
    assert time.monotonic() - started < 3
    assert err.value.line == 2
    time.sleep(0.2)  # the idle watchdog stops; the next render starts another
    with pytest.raises(TemplateProblem, match="longer than"):
        render(
            tmp_path,
            "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        )
    # the interrupted thread carries on normally afterwards
    assert "Dear" in "\n".join(docx_text(docx.Document(io.BytesIO(render(tmp_path, "Dear")))))


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("{{ patient.first_name|safe }}", "'|safe' is not allowed"),
        ("{% filter safe %}{{ patient.first_name }}{% endfilter %}", "'|safe' is not allowed"),
        ("{% autoescape false %}{{ patient.first_name }}{% endautoescape %}", "autoescape"),
        ("{% include 'other.docx' %}", "'{% include %}' is not allowed"),
        ("{% import 'macros' as m %}", "'{% import %}' is not allowed"),
        ("{% from 'macros' import m %}", "'{% from ... import %}' is not allowed"),
        ("{% extends 'base' %}", "'{% extends %}' is not allowed"),
    ],
)
def test_escape_off_and_other_files_refused_with_the_line(
    tmp_path: Path, tag: str, message: str
) -> None:
    path = docx_with("Dear {{ patient.first_name }}", "ok", tag, path=tmp_path / "t.docx")
    report = check_template(path)
    assert [(p.line, p.kind) for p in report.problems] == [(3, "syntax")]
    assert message in report.problems[0].message
    with pytest.raises(TemplateProblem) as err:
        CompiledDocx.load(path)
    assert err.value.line == 3
    sms = tmp_path / "sms.txt.j2"
    sms.write_text(f"Hello\n{tag}\n", encoding="utf-8")
    with pytest.raises(TemplateProblem) as err:
        SmsTemplate.load(sms)
    assert err.value.line == 2


def test_batch_letters_runs_the_checks_before_writing_anything(
    db: Database, tmp_path: Path
) -> None:
    batch_id = seed(db)
    templates = tmp_path / "templates"
    templates.mkdir()
    docx_with("Dear {{ patient.last_name|safe }}", path=templates / "stage1.docx")
    out = tmp_path / "out"
    with pytest.raises(Refused, match=r"stage1.docx line 1: '\|safe' is not allowed"):
        render_batch_letters(db, batch_id, out, templates=templates, pdf=False)
    assert not out.exists() or not any(out.iterdir())
    docx_with("Dear", "{{ 'x'.ljust(300000000) }}", path=templates / "stage1.docx")
    started = time.monotonic()
    with pytest.raises(Refused, match=r"stage1.docx line 2: .*limit of 10,000"):
        render_batch_letters(db, batch_id, out, templates=templates, pdf=False)
    assert time.monotonic() - started < 10
    assert not out.exists() or not any(out.iterdir())


def test_patient_names_with_xml_render_literally_in_an_openable_docx(
    db: Database, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from recall.store.models import patient_t

    batch_id = seed(db)
    hostile = "O'Brien & <Sons> </w:t></w:r><w:r><w:t>{{ x }}"
    with db.write() as s:
        s.execute(update(patient_t).values(family_name=hostile))
    result = render_batch_letters(db, batch_id, tmp_path / "out", pdf=False)
    for path in [result.print_file, *result.letters]:
        assert path is not None
        text = "\n".join(docx_text(docx.Document(str(path))))
        assert hostile in text
