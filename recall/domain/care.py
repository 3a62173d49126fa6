"""Care already done this QOF year: reviews, and readings judged against the year's target.

QOF measures some indicators against a reading (blood pressure, HbA1c): the latest reading in
the year decides. In target, the care is achieved; out of target, the patient still needs
care, and invitations on or before that reading do not count toward the exception ("PCA
status" and "Care already done" in the QOF rules). A reading coded without a value still
shows the care was done; the tool cannot judge it, so it counts as achieved, as before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from recall.domain.recall_month import age_on

_NUMBER = re.compile(r"^[+]?(\d{1,6}(?:\.\d{1,4})?)$")
_PAIR = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?)\s*/\s*(\d{1,3}(?:\.\d{1,2})?)$")
VALUE_HINT = "a number (e.g. 48 or 7.5) or a blood pressure written systolic/diastolic (150/90)"


def parse_value(text: str) -> str:
    """A reading's value as stored: `48`, `7.5` or `150/90`; ValueError in plain words."""
    s = text.strip()
    if not s:
        return ""
    pair = _PAIR.match(s)
    if pair:
        sys_, dia = (float(g) for g in pair.groups())
        if dia > sys_:
            raise ValueError("is not a blood pressure: the diastolic is above the systolic")
        return f"{_fmt(sys_)}/{_fmt(dia)}"
    one = _NUMBER.match(s)
    if one:
        return _fmt(float(one.group(1)))
    raise ValueError(f"is not a number ({VALUE_HINT})")


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def value_numbers(text: str | None) -> tuple[float, ...]:
    """The numbers of a stored value (`150/90` -> (150, 90)); () when empty or unreadable."""
    if not text:
        return ()
    try:
        return tuple(float(p) for p in text.split("/"))
    except ValueError:
        return ()


def bp_part(term: str) -> str:
    """`sys` or `dia` for a code whose term names one half of a blood pressure, else ``."""
    words = term.lower()
    if "systolic" in words and "diastolic" not in words:
        return "sys"
    if "diastolic" in words and "systolic" not in words:
        return "dia"
    return ""


@dataclass(frozen=True, order=True)
class Reading:
    """One day's reading: (value,), (systolic, diastolic), or () when coded without a value."""

    on: dt.date
    values: tuple[float, ...] = ()

    @property
    def text(self) -> str:
        return "/".join(_fmt(v) for v in self.values)


def pair_readings(entries: Iterable[tuple[dt.date, str, str | None]]) -> tuple[Reading, ...]:
    """Readings per day from (date, part, value) rows; systolic and diastolic rows of one
    day make one blood pressure (the lowest of each that day, as the QOF rules take it)."""
    days: dict[dt.date, dict[str, list[float]]] = {}
    for on, part, value in entries:
        got = days.setdefault(on, {})
        nums = value_numbers(value)
        if len(nums) == 2:
            got.setdefault("sys", []).append(nums[0])
            got.setdefault("dia", []).append(nums[1])
        elif len(nums) == 1:
            got.setdefault(part or "one", []).append(nums[0])
    out: list[Reading] = []
    for on, got in sorted(days.items()):
        if "sys" in got or "dia" in got:
            sys_ = min(got["sys"]) if "sys" in got else None
            dia = min(got["dia"]) if "dia" in got else None
            if sys_ is not None and dia is not None:
                out.append(Reading(on, (sys_, dia)))
            else:
                out.append(Reading(on, (sys_ if sys_ is not None else dia or 0.0,)))
        elif "one" in got:
            out.append(Reading(on, (min(got["one"]),)))
        else:
            out.append(Reading(on))
    return tuple(out)


@dataclass(frozen=True)
class TargetBand:
    """One band of a QOF target: a reading at or under every limit is in target."""

    limits: tuple[float, ...]  # (140, 90) for blood pressure, (58,) for HbA1c
    min_age: int = 0
    max_age: int | None = None
    indicator: str = ""

    def applies(self, age: int | None) -> bool:
        if age is None:
            return self.min_age == 0
        return age >= self.min_age and (self.max_age is None or age <= self.max_age)

    @property
    def text(self) -> str:
        return "/".join(_fmt(v) for v in self.limits)


@dataclass(frozen=True)
class Target:
    """A condition's target in one QOF year (data/qof/<year>.toml)."""

    measure: str  # "blood pressure", "HbA1c"
    bands: tuple[TargetBand, ...]
    unit: str = ""

    def band_for(self, age: int | None) -> TargetBand | None:
        return next((b for b in self.bands if b.applies(age)), None)


def in_target(reading: Reading, band: TargetBand) -> bool | None:
    """True/False against the band; None when the reading has no value to judge."""
    if not reading.values:
        return None
    if len(reading.values) == 1 and len(band.limits) == 2:
        return None  # one half of a blood pressure: cannot judge the other half
    return all(v <= limit for v, limit in zip(reading.values, band.limits, strict=False))


@dataclass(frozen=True)
class CareState:
    """What the year's care says about one condition, up to one day."""

    achieved_on: dt.date | None = None  # care done (wins over every invitation)
    reason: str = ""  # in plain words, for screens and the rule's "why not"
    out_of_target_on: dt.date | None = None  # invitations on/before this day do not count
    reading: Reading | None = None  # the latest reading, when measured
    measure: str = ""  # what the reading measures ("blood pressure"), when measured
    target: str = ""  # the band the reading was judged against ("140/90"), when judged

    @property
    def achieved(self) -> bool:
        return self.achieved_on is not None


NOTHING = CareState()


def care_state(
    *,
    reviews: Iterable[dt.date],
    readings: Iterable[Reading],
    target: Target | None,
    start: dt.date,
    end: dt.date,
    date_of_birth: dt.date | None,
    age_day: dt.date,
) -> CareState:
    """The care state from `start` to `end`: a review wins; for a measured condition (one
    with a target) the latest reading decides, judged by the patient's age on `age_day`."""
    if target is not None:
        inside = [r for r in readings if start <= r.on <= end]
        if inside:
            latest = max(inside)
            age = age_on(date_of_birth, age_day) if date_of_birth else None
            band = target.band_for(age)
            verdict = in_target(latest, band) if band is not None else None
            day = latest.on.isoformat()
            if verdict is False:
                assert band is not None
                return CareState(
                    reason=f"latest {target.measure} {latest.text} on {day} is out of target "
                    f"(≤{band.text}): invitations before it do not count",
                    out_of_target_on=latest.on,
                    reading=latest,
                    measure=target.measure,
                    target=band.text,
                )
            if verdict is True:
                assert band is not None
                return CareState(
                    latest.on,
                    f"{target.measure} {latest.text} on {day} is in target (≤{band.text})",
                    reading=latest,
                    measure=target.measure,
                    target=band.text,
                )
            return CareState(
                latest.on,
                f"{target.measure} taken on {day} (no value to judge)",
                reading=latest,
                measure=target.measure,
            )
    done = sorted(d for d in reviews if start <= d <= end)
    if done:
        return CareState(done[-1], f"reviewed this year ({done[-1].isoformat()})")
    return NOTHING


Targets = Mapping[str, Target]

__all__ = [
    "NOTHING",
    "VALUE_HINT",
    "CareState",
    "Reading",
    "Target",
    "TargetBand",
    "Targets",
    "bp_part",
    "care_state",
    "in_target",
    "pair_readings",
    "parse_value",
    "value_numbers",
]
