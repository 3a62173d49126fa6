"""The patient screen's words for one condition: status, this year's care (the latest reading
in or out of target, or the care done and when), the invitations that do not count, a full
review's parts and what this QOF year asks. One sentence per line, so the screen wraps each
whole at any width instead of cutting a column short."""

from __future__ import annotations

import datetime as dt

from recall.services.patients import CarePart, CareView, ConditionStatus

# plain names of the parts of a full review (QOF rules, "Care already done")
PART_WORDS = {
    "ASTCONTASS_COD": "asthma control assessment",
    "ASTEXACB_COD": "exacerbation count",
    "WRITPASTP_COD": "written asthma plan",
    "MRC_COD": "breathlessness (MRC) score",
    "COPDEXACB_COD": "exacerbation count",
    "LDLCCHOL_COD": "LDL cholesterol",
    "NONHDLCCHOL_COD": "non-HDL cholesterol",
}


def day_words(day: dt.date | None) -> str:
    """`2026-07-01` -> "1 Jul 2026"."""
    return "" if day is None else f"{day.day} {day:%b %Y}"


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def care_line(c: CareView) -> str:
    """The year's care in one sentence: the latest reading judged, or the care done."""
    if c.measure and c.reading_on is not None:
        head = f"Latest {c.measure} {c.reading} on {day_words(c.reading_on)}".replace("  ", " ")
        if c.in_target is True:
            return f"{head}: in target (at or under {c.target}), so care is done this year."
        if c.in_target is False:
            return f"{head}: out of target (over {c.target}), so care is still due."
        return f"{head}: no value to judge, so it counts as care done."
    if c.done_on is not None:
        what = f": {c.done_what}" if c.done_what else ""
        return f"Care done this year on {day_words(c.done_on)}{what}."
    if not c.has_care_list:
        return "No QOF care list for this condition: it never counts as done."
    return "No care recorded this year."


def _part(p: CarePart) -> str:
    name = PART_WORDS.get(p.cluster, p.cluster)
    if not p.listed:
        return f"{name} (list {p.cluster} not imported)"
    if p.done_on is not None:
        return f"{name} done {day_words(p.done_on)}"
    return f"{name} not done"


def qof_line(c: CareView) -> str:
    """What this QOF year asks of the condition, in plain words ("" when nothing to say)."""
    if c.qof_status == "no_qof":
        return _sentence(c.qof_words)
    if not c.has_invite_cluster:
        return ""
    return f"QOF {c.qof_year}: two invitations 7 or more days apart can except the patient."


def condition_lines(s: ConditionStatus) -> list[str]:
    """Every line the screen shows under the conditions table for the highlighted one."""
    first = [f"{s.name}: {s.plain}"]
    if s.invitations:
        first.append("invited " + ", ".join(day_words(d) for d in s.invitations))
    if not s.ready:
        first.append(f"cannot be coded yet: {s.readiness} (see Code lists)")
    elif s.status != "achieved" and s.next_step:  # care done is said on the next line
        first.append(s.next_step)
    elif s.earliest_second and s.status in ("invited_once", "invalid_interval"):
        first.append(f"a 2nd letter can go from {day_words(s.earliest_second)}")
    lines = [" ".join(_sentence(x) for x in first)]
    lines.append(care_line(s.care_view))
    if s.not_counted and s.care_view.reading_on is not None:
        when = day_words(s.care_view.reading_on)
        lines.append(
            f"Invitations before {when} do not count (reading out of target): "
            + ", ".join(day_words(d) for d in s.not_counted)
            + "."
        )
    if s.care_view.parts:
        lines.append(
            "Also part of this year's care: " + "; ".join(_part(p) for p in s.care_view.parts) + "."
        )
    qof = qof_line(s.care_view)
    return [*lines, qof] if qof else lines
