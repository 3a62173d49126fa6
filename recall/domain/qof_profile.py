"""What one QOF year asks for: targets, and which conditions carry invitation-based exceptions.

Indicators change from year to year (2025/26 retired depression and cancer; 2026/27 replaced
several), so the rules read them from a year profile (`data/qof/<year>.toml`), never from code.
A year without its own file uses the latest earlier one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from recall.domain.care import Target


@dataclass(frozen=True)
class NewInvitation:
    """An invitation refset published for a condition the catalogue cannot code yet."""

    key: str
    name: str
    refset: str
    note: str = ""


@dataclass(frozen=True)
class YearProfile:
    """One QOF year's indicators as the invitation rules need them."""

    start_year: int
    label: str
    targets: Mapping[str, Target] = field(default_factory=dict)
    no_pca: Mapping[str, str] = field(default_factory=dict)  # condition -> why no QOF code
    retired: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    new_invitations: tuple[NewInvitation, ...] = ()
    source: str = ""

    def pca_applies(self, condition: str) -> bool:
        """False when no indicator of the condition is excepted by invitations this year."""
        return condition not in self.no_pca

    def qof_status(self, condition: str) -> tuple[str, str]:
        """(status, words) for screens: `pca` or `no_qof`."""
        why = self.no_pca.get(condition)
        if why is not None:
            return "no_qof", (
                f"no QOF indicator in {self.label} ({why}): invitations are good care, "
                "no QOF code is needed and PCA does not apply"
            )
        return "pca", "two invitations 7 or more days apart can except a patient (PCA)"


def pick_profile(profiles: Mapping[int, YearProfile], start_year: int) -> YearProfile:
    """The profile for a QOF year: its own, else the latest earlier one, else the earliest."""
    if start_year in profiles:
        return profiles[start_year]
    earlier = [y for y in profiles if y <= start_year]
    if earlier:
        return profiles[max(earlier)]
    if profiles:
        return profiles[min(profiles)]
    return YearProfile(start_year, f"{start_year}/{(start_year + 1) % 100:02d}")
