"""The condition catalogue: which conditions can be invited for, and with which codes.

The catalogue is assembled from data files and the practice's own choices by the services
layer; here are only the types and the readiness rule, so they can be tested without files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from recall.domain.care import Target
from recall.domain.qof_profile import YearProfile, pick_profile
from recall.domain.qof_year import QofYear, qof_year_of


@dataclass(frozen=True)
class CodeList:
    """A cluster of codes (OpenCodelists `code,term` form) and where it came from."""

    cluster: str
    codes: Mapping[str, str]
    source: str = "shipped"
    provisional: bool = False

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def term(self, code: str) -> str:
        return self.codes.get(code, "")


EMPTY = CodeList(cluster="", codes={})


@dataclass(frozen=True)
class StageCode:
    code: str
    term: str


@dataclass(frozen=True)
class CodeProfile:
    """What one clinical system (SystmOne, EMIS) expects for stage and generic codes."""

    key: str
    name: str
    stage_codes: Mapping[int, StageCode]
    generic_codes: frozenset[str]
    generic_record_code: StageCode | None = None
    equivalents: Mapping[str, str] = field(default_factory=dict)

    def stage_code(self, stage: int) -> StageCode | None:
        return self.stage_codes.get(stage)

    @property
    def all_stage_codes(self) -> frozenset[str]:
        return frozenset(sc.code for sc in self.stage_codes.values())

    def stage_of_code(self, code: str) -> int | None:
        for stage, sc in self.stage_codes.items():
            if sc.code == code:
                return stage
        return None

    def same_code(self, a: str, b: str) -> bool:
        """True when two codes mean the same thing in this system (e.g. CTV3 vs SNOMED)."""
        return a == b or self.equivalents.get(a) == b or self.equivalents.get(b) == a


@dataclass(frozen=True)
class Readiness:
    ready: bool
    status: str  # "ready" | "provisional" | "needs_code_list" | "needs_record_code" | ...
    reason: str
    fix: str = ""


@dataclass(frozen=True)
class Condition:
    """One QOF register condition with its invitation and review code lists."""

    key: str
    name: str
    plain_name: str
    bring: str
    invite_cluster: str
    invite: CodeList
    review: CodeList = EMPTY  # every care-done code (all care lists merged)
    review_cluster: str = ""  # the first care cluster (its name, for messages)
    care: tuple[CodeList, ...] = ()  # care already done this QOF year, one list per cluster
    care_parts: tuple[CodeList, ...] = ()  # parts of a full review (shown, not required)
    declines: tuple[CodeList, ...] = ()
    record_code: str | None = None
    record_code_by_stage: Mapping[int, str] = field(default_factory=dict)
    provisional: bool = False
    enabled: bool = True
    measured: bool = False
    note: str = ""
    easy_bring: str = ""  # what to bring, in easy-read words

    def condition_invite_codes(self, generic: Iterable[str]) -> frozenset[str]:
        """Invite-cluster codes that are specific to this condition (generic code removed)."""
        g = set(generic)
        return frozenset(c for c in self.invite.codes if c not in g)

    @property
    def decline_codes(self) -> frozenset[str]:
        return frozenset(c for cl in self.declines for c in cl.codes)

    @property
    def review_codes(self) -> frozenset[str]:
        return frozenset(self.review.codes)

    @property
    def care_clusters(self) -> tuple[str, ...]:
        return tuple(cl.cluster for cl in self.care)

    @property
    def care_missing(self) -> tuple[str, ...]:
        """Care clusters the QOF rules name but whose member list the tool does not have."""
        return tuple(cl.cluster for cl in (*self.care, *self.care_parts) if not cl.codes)

    def care_status(self) -> tuple[str, str]:
        """(status, words) of the care-done lists: `ready`, `partial` or `care_list_needed`."""
        have = [cl.cluster for cl in self.care if cl.codes]
        missing = self.care_missing
        if not self.care:
            return "none", "no QOF care list: never counted as achieved"
        if not have:
            names = ", ".join(missing)
            return "care_list_needed", (
                f"care list needed ({names}): recall codes import {missing[0]} FILE"
            )
        if missing:
            return "partial", f"{', '.join(have)}; not yet imported: {', '.join(missing)}"
        return "ready", ", ".join(have)

    def record_code_for(self, stage: int) -> str | None:
        return self.record_code_by_stage.get(stage) or self.record_code

    def readiness(self, profile: CodeProfile) -> Readiness:
        """Whether the tool may record this condition's code, and if not, how to fix it."""
        cluster = self.invite_cluster or f"{self.key}_INVITE"
        if not self.invite.codes:
            if not self.invite_cluster:
                return Readiness(
                    False,
                    "needs_code_list",
                    f"QOF publishes no invitation cluster for {self.name}",
                    f"if your practice uses a local invite code list: "
                    f"recall codes import {self.key} FILE",
                )
            return Readiness(
                False,
                "needs_code_list",
                f"needs its code list ({cluster})",
                f"download {cluster} from the Primary Care Domain reference set portal or "
                f"OpenCodelists, then: recall codes import {cluster} FILE",
            )
        if self.provisional and not self.enabled:
            return Readiness(
                False,
                "provisional",
                f"code not verified against the official {cluster} file",
                f"import that file to verify (recall codes import {cluster} FILE), or turn it "
                f"on anyway: recall codes enable {self.key} --provisional",
            )
        if not self.enabled:
            return Readiness(
                False, "off", "turned off by the practice", f"recall codes enable {self.key}"
            )
        codes = {c for c in (self.record_code, *self.record_code_by_stage.values()) if c}
        if not codes:
            return Readiness(
                False,
                "needs_record_code",
                "no record code chosen",
                f"pick one from {cluster}: recall codes set {self.key} CODE",
            )
        missing = sorted(c for c in codes if c not in self.invite)
        if missing:
            return Readiness(
                False,
                "needs_record_code",
                f"record code {missing[0]} is not in {cluster}",
                f"pick one from {cluster}: recall codes set {self.key} CODE",
            )
        if any(c in profile.generic_codes for c in codes):
            return Readiness(
                False,
                "needs_record_code",
                "the record code is the generic QOF invite code, which is not condition-specific",
                f"pick the condition's own code: recall codes set {self.key} CODE",
            )
        missing_stages = [s for s in (1, 2, 3) if profile.stage_code(s) is None]
        if missing_stages:
            return Readiness(
                False,
                "needs_stage_codes",
                f"the {profile.name} profile has no LTC stage code for stage "
                f"{', '.join(map(str, missing_stages))}",
                "recall codes stage N CODE --term TEXT",
            )
        if self.provisional:
            return Readiness(
                True,
                "provisional",
                f"on, but the code is not verified against the official {cluster} file",
                f"import that file to verify: recall codes import {cluster} FILE",
            )
        return Readiness(True, "ready", "ready")


@dataclass(frozen=True)
class Catalogue:
    conditions: Mapping[str, Condition]
    profile: CodeProfile
    years: Mapping[int, YearProfile] = field(default_factory=dict)

    def year_profile(self, year: QofYear) -> YearProfile:
        """The QOF year's indicators (its own profile, else the latest earlier one)."""
        return pick_profile(self.years, year.start_year)

    def invite_code_needed(self, condition: str, day: dt.date) -> bool:
        """Whether an invitation sent on `day` needs the condition's QOF invite code: not
        when that QOF year has no invitation-based exception for it (depression and cancer
        from 2025/26). Recording, the coding worksheet, PCA status and backfill all ask here."""
        return self.year_profile(qof_year_of(day)).pca_applies(condition.upper())

    def no_code_conditions(self, year: QofYear) -> frozenset[str]:
        """Conditions whose invitations need no QOF code in `year`."""
        return frozenset(k for k in self.conditions if not self.invite_code_needed(k, year.start))

    def targets(self, year: QofYear) -> dict[str, Target]:
        """Targets of the measured conditions in `year` (the latest reading decides)."""
        found = self.year_profile(year).targets
        return {
            c.key: found[c.key] for c in self.conditions.values() if c.measured and c.key in found
        }

    def __iter__(self) -> Iterator[Condition]:
        return iter(self.conditions.values())

    def get(self, key: str) -> Condition | None:
        return self.conditions.get(key.upper())

    def ready(self) -> list[Condition]:
        return [c for c in self.conditions.values() if c.readiness(self.profile).ready]

    def ready_keys(self) -> frozenset[str]:
        return frozenset(c.key for c in self.ready())

    @property
    def generic_codes(self) -> frozenset[str]:
        return self.profile.generic_codes

    def specific_invite_codes(self) -> dict[str, frozenset[str]]:
        """Condition key → its condition-specific invite codes (for PCA and backfill)."""
        return {
            c.key: c.condition_invite_codes(self.profile.generic_codes)
            for c in self.conditions.values()
        }
