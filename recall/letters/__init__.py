"""Letters: Word templates with Jinja tags, rendered safely and fast; SMS text.

No database here: services build `LetterContext` values and hand them in.
"""

from recall.letters.check import CheckReport, check_template
from recall.letters.context import (
    ANNUAL_REVIEW,
    ConditionInfo,
    LetterContext,
    PatientInfo,
    PracticeInfo,
    sample_context,
    sms_context,
    unnamed_review,
)
from recall.letters.docx_template import CompiledDocx
from recall.letters.errors import TemplateProblem
from recall.letters.print_file import PrintFile
from recall.letters.sms import SmsTemplate, normalise_mobile, sms_length
from recall.letters.templates import TemplateSet, choose_variant, parse_needs, template_name

__all__ = [
    "ANNUAL_REVIEW",
    "CheckReport",
    "CompiledDocx",
    "ConditionInfo",
    "LetterContext",
    "PatientInfo",
    "PracticeInfo",
    "PrintFile",
    "SmsTemplate",
    "TemplateProblem",
    "TemplateSet",
    "check_template",
    "choose_variant",
    "normalise_mobile",
    "parse_needs",
    "sample_context",
    "sms_context",
    "sms_length",
    "template_name",
    "unnamed_review",
]
