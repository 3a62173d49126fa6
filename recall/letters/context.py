"""What a letter template can use: the documented context, built from plain values.

Templates are edited by practice staff, so the variables are a published contract (listed in
the README). `LETTER_VARIABLES` and `SMS_VARIABLES` drive `recall letters check`: anything a
template uses that is not listed here is reported as an undeclared variable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recall.domain.nhs import format_nhs_number

STAGE_WORDS = {1: "first", 2: "second", 3: "third"}
VARIANTS = ("standard", "large_print", "easy_read")

# name -> {attribute: description}. The README's "Letter templates" section mirrors this.
LETTER_VARIABLES: dict[str, dict[str, str]] = {
    "practice": {
        "name": "practice name",
        "address_lines": "practice address, a list of lines",
        "address": "practice address on one line, comma-separated",
        "phone": "phone number for booking",
        "email": "practice email address (may be empty)",
        "booking_url": "online booking link (may be empty)",
        "signatory": "who signs the letters, e.g. Dr A Patel, GP partner (may be empty)",
    },
    "patient": {
        "title": "title, e.g. Mrs (may be empty)",
        "first_name": "given name",
        "last_name": "family name",
        "full_name": "title, given name and family name",
        "salutation": "for 'Dear ...': title and family name, or the full name",
        "address_lines": "name-less address lines for the envelope window, postcode last",
        "postcode": "postcode",
        "nhs_number": "NHS number printed 3-3-4, e.g. 943 476 5919",
        "date_of_birth": "date of birth, e.g. 1 May 1950",
        "interpreter": "language for an interpreter, or empty",
        "needs": "communication needs, a list (large_print, easy_read, braille, ...)",
    },
    "conditions": {
        "key": "catalogue key, e.g. DM",
        "name": "clinical name, e.g. Diabetes",
        "plain_name": "plain-English name, e.g. diabetes",
        "bring": "what to bring or do before the appointment (may be empty)",
        "easy_bring": "what to bring in easy-read words, e.g. 'all your inhalers' (may be empty)",
    },
    "conditions_text": {},
    "letter": {
        "date": "date printed on the letter, e.g. 27 November 2026",
        "stage": "1, 2 or 3",
        "stage_word": "first, second or third",
        "is_last": "true on the third (last) letter",
        "variant": "standard, large_print or easy_read",
        "review_phrase": "'your yearly review of your long-term health condition(s)', or "
        "'your annual health review' when no condition is named",
        "anything_to_bring": "true when some condition says what to bring (on an easy-read "
        "letter: in easy-read words)",
        "names_conditions": "true when the letter names a condition; false when every one is "
        "a sensitive condition the practice does not name (then 'Your review covers' would "
        "only repeat 'your annual health review')",
    },
}
LETTER_DESCRIPTIONS = {
    "conditions": "the conditions to review, a list; each item has the fields below",
    "conditions_text": "the conditions' plain names joined in a sentence: 'asthma and diabetes'",
}
SMS_VARIABLES: dict[str, dict[str, str]] = {
    "practice": LETTER_VARIABLES["practice"],
    "letter": {  # a text names no condition, so it has no condition wording either
        k: v
        for k, v in LETTER_VARIABLES["letter"].items()
        if k not in ("review_phrase", "anything_to_bring", "names_conditions")
    },
}
FILTERS = {"sentence": "capitalise the first letter only: {{ c.plain_name|sentence }}"}


# what a letter says instead of a condition the practice does not name on paper
ANNUAL_REVIEW = "REVIEW"


def unnamed_review() -> ConditionInfo:
    """Stands in for every sensitive condition on a letter: one line, no diagnosis named."""
    return ConditionInfo(ANNUAL_REVIEW, "Annual health review", "your annual health review", "")


def long_date(day: dt.date) -> str:
    """27 November 2026: the NHS house style for dates in letters."""
    return f"{day.day} {day:%B %Y}"


def join_plain(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [w for w in words if w]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass(frozen=True)
class PracticeInfo:
    name: str
    address_lines: tuple[str, ...] = ()
    phone: str = ""
    email: str = ""
    booking_url: str = ""
    signatory: str = ""

    def as_context(self) -> dict[str, Any]:
        lines = [line for line in self.address_lines if line and line.strip()]
        return {
            "name": self.name,
            "address_lines": lines,
            "address": ", ".join(lines),
            "phone": self.phone,
            "email": self.email,
            "booking_url": self.booking_url,
            "signatory": self.signatory,
        }


@dataclass(frozen=True)
class PatientInfo:
    first_name: str
    last_name: str
    nhs_number: str
    date_of_birth: dt.date | None = None
    title: str = ""
    address_lines: tuple[str, ...] = ()
    postcode: str = ""
    needs: tuple[str, ...] = ()

    @property
    def interpreter(self) -> str:
        for need in self.needs:
            if need.startswith("interpreter:"):
                return need.split(":", 1)[1].strip()
        return ""

    def as_context(self) -> dict[str, Any]:
        full = " ".join(p for p in (self.title, self.first_name, self.last_name) if p)
        salutation = f"{self.title} {self.last_name}" if self.title else full
        lines = [line for line in self.address_lines if line and line.strip()]
        if self.postcode:
            lines.append(self.postcode)
        return {
            "title": self.title,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "full_name": full,
            "salutation": salutation,
            "address_lines": lines,
            "postcode": self.postcode,
            "nhs_number": format_nhs_number(self.nhs_number),
            "date_of_birth": long_date(self.date_of_birth) if self.date_of_birth else "",
            "interpreter": self.interpreter,
            "needs": list(self.needs),
        }


@dataclass(frozen=True)
class ConditionInfo:
    key: str
    name: str
    plain_name: str
    bring: str
    easy_bring: str = ""  # the easy-read letter's own short words for what to bring

    def as_context(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "plain_name": self.plain_name,
            "bring": self.bring,
            "easy_bring": self.easy_bring,
        }


@dataclass(frozen=True)
class LetterContext:
    """Everything one letter needs; `as_context()` is what the template sees."""

    practice: PracticeInfo
    patient: PatientInfo
    conditions: tuple[ConditionInfo, ...]
    stage: int
    letter_date: dt.date
    variant: str = "standard"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_context(self) -> dict[str, Any]:
        return {
            "practice": self.practice.as_context(),
            "patient": self.patient.as_context(),
            "conditions": [c.as_context() for c in self.conditions],
            "conditions_text": join_plain([c.plain_name for c in self.conditions]),
            "letter": {
                **letter_fields(self.stage, self.letter_date, self.variant),
                "review_phrase": review_phrase(self.conditions),
                "names_conditions": any(c.key != ANNUAL_REVIEW for c in self.conditions),
                "anything_to_bring": any(
                    c.easy_bring if self.variant == "easy_read" else c.bring
                    for c in self.conditions
                ),
            },
            **self.extra,
        }


def review_phrase(conditions: Sequence[ConditionInfo]) -> str:
    """What the letter invites to: plural for several conditions, no name when all are
    sensitive ones the practice does not name on paper."""
    if len(conditions) > 1:
        return "your yearly review of your long-term health conditions"
    if conditions and conditions[0].key != ANNUAL_REVIEW:
        return "your yearly review of your long-term health condition"
    return "your annual health review"


def letter_fields(stage: int, letter_date: dt.date, variant: str = "standard") -> dict[str, Any]:
    return {
        "date": long_date(letter_date),
        "stage": stage,
        "stage_word": STAGE_WORDS.get(stage, str(stage)),
        "is_last": stage >= 3,
        "variant": variant,
    }


def sms_context(practice: PracticeInfo, stage: int, letter_date: dt.date) -> dict[str, Any]:
    """SMS messages go to a whole list at once, so they carry no patient details."""
    return {"practice": practice.as_context(), "letter": letter_fields(stage, letter_date)}


def sample_context(stage: int = 1, variant: str = "standard") -> LetterContext:
    """A made-up letter used by `recall letters check` (awkward characters on purpose)."""
    return LetterContext(
        practice=PracticeInfo(
            name="Oak & Ash <Health> Centre",
            address_lines=("1 High Street", "Leeds"),
            phone="0113 496 0000",
            email="oak.ash@nhs.net",
            booking_url="https://www.example.nhs.uk/book",
        ),
        patient=PatientInfo(
            first_name="Zoë",
            last_name="O'Brien & <Sons>",
            nhs_number="9434765919",
            date_of_birth=dt.date(1950, 5, 1),
            title="Mrs",
            address_lines=("Flat 2", "10 Mill Lane", "Leeds"),
            postcode="LS1 4AP",
            needs=("interpreter:Polish",),
        ),
        conditions=(
            ConditionInfo(
                "DM",
                "Diabetes",
                "diabetes",
                "a urine sample in a pot from reception",
                "some wee in a pot (get the pot from reception)",
            ),
            ConditionInfo(
                "HYP",
                "Hypertension",
                "high blood pressure",
                "your home blood pressure readings, if you have a monitor at home",
                "your blood pressure numbers, if you check it at home",
            ),
        ),
        stage=stage,
        letter_date=dt.date(2026, 11, 27),
        variant=variant,
    )
