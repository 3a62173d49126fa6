"""Each QOF year's profile (data/qof/<year>.toml) says what the QOF rules say: blood pressure
≤140/90 under 80 and ≤150/90 at 80 and over for HYP, CHD and stroke/TIA (CD001/CD002 from
2026/27), HbA1c ≤58 mmol/mol for diabetes; depression and cancer carry no invitation-based
exception from 2025/26, and 2024/25 is judged by its own indicators."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recall.domain.qof_profile import pick_profile
from recall.services.qof_years import year_profiles

RULES = Path("/work/shared/reference/qof-rules.md")
BP_INDICATORS = {
    2024: {
        "HYP": ("HYP008", "HYP009"),
        "CHD": ("CHD015", "CHD016"),
        "STIA": ("STIA014", "STIA015"),
    },
    2025: {
        "HYP": ("HYP008", "HYP009"),
        "CHD": ("CHD015", "CHD016"),
        "STIA": ("STIA014", "STIA015"),
    },
    2026: {"HYP": ("HYP008", "HYP009"), "CHD": ("CD001", "CD002"), "STIA": ("CD001", "CD002")},
}


@pytest.mark.parametrize("start_year", sorted(BP_INDICATORS))
def test_blood_pressure_targets_by_age(start_year: int) -> None:
    profile = year_profiles()[start_year]
    for cond, (under_80, over_80) in BP_INDICATORS[start_year].items():
        target = profile.targets[cond]
        assert target.measure == "blood pressure" and target.unit == "mmHg"
        young, old = target.band_for(79), target.band_for(80)
        assert young is not None and old is not None, cond
        assert (young.limits, young.indicator) == ((140.0, 90.0), under_80), cond
        assert (old.limits, old.indicator) == ((150.0, 90.0), over_80), cond
        assert target.band_for(40) == young and target.band_for(95) == old


@pytest.mark.parametrize("start_year", sorted(BP_INDICATORS))
def test_hba1c_target(start_year: int) -> None:
    target = year_profiles()[start_year].targets["DM"]
    band = target.band_for(50)
    assert target.unit == "mmol/mol" and band is not None and band.limits == (58.0,)
    assert target.band_for(90) == band


def test_which_conditions_carry_invitation_exceptions() -> None:
    profiles = year_profiles()
    assert profiles[2024].pca_applies("DEPR") and profiles[2024].pca_applies("CAN")
    for year in (2025, 2026):
        assert not profiles[year].pca_applies("DEPR")
        assert not profiles[year].pca_applies("CAN")
        assert profiles[year].pca_applies("HYP")
    # a year before the first profile is not judged by a later year's retirements
    assert pick_profile(profiles, 2023).pca_applies("DEPR")
    assert set(profiles[2026].added) >= {"CD001", "CD002"}
    assert set(profiles[2026].retired) >= {"CHD015", "CHD016", "STIA014", "STIA015"}


@pytest.mark.skipif(not RULES.is_file(), reason="the shared reference folder is not here")
def test_the_rules_text_gives_these_targets() -> None:
    text = re.sub(r"\s+", " ", RULES.read_text(encoding="utf-8"))
    assert "HYP: ≤140/90 under 80, ≤150/90 at 80+" in text
    assert "target ≤58 mmol/mol" in text
    assert "CD001/CD002 (combined cardiovascular BP) replace CHD015/CHD016/STIA014/STIA015" in text
