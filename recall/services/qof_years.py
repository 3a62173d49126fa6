"""Read the QOF-year profiles (`data/qof/<yyyy>-<yy>.toml`) into the domain's YearProfile."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from recall.domain.care import Target, TargetBand
from recall.domain.qof_profile import NewInvitation, YearProfile
from recall.resources import data_dir

_NAME = re.compile(r"^(\d{4})-\d{2}$")


def _target(raw: dict[str, Any]) -> Target:
    bands = tuple(
        TargetBand(
            limits=tuple(float(v) for v in b["limits"]),
            min_age=int(b.get("min_age", 0)),
            max_age=int(b["max_age"]) if "max_age" in b else None,
            indicator=str(b.get("indicator", "")),
        )
        for b in raw.get("bands", [])
    )
    return Target(str(raw.get("measure", "reading")), bands, str(raw.get("unit", "")))


def _profile(path: Path, start_year: int) -> YearProfile:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return YearProfile(
        start_year=int(raw.get("start_year", start_year)),
        label=str(raw.get("label", f"{start_year}/{(start_year + 1) % 100:02d}")),
        targets={k.upper(): _target(v) for k, v in raw.get("targets", {}).items()},
        no_pca={k.upper(): str(v) for k, v in raw.get("no_pca", {}).items()},
        retired=tuple(str(x) for x in raw.get("retired", [])),
        added=tuple(str(x) for x in raw.get("added", [])),
        new_invitations=tuple(
            NewInvitation(str(n["key"]), str(n["name"]), str(n["refset"]), str(n.get("note", "")))
            for n in raw.get("new_invitations", [])
        ),
        source=path.name,
    )


@lru_cache(maxsize=4)
def _load(folder: Path) -> dict[int, YearProfile]:
    out: dict[int, YearProfile] = {}
    for path in sorted(folder.glob("*.toml")):
        m = _NAME.match(path.stem)
        if m:
            year = int(m.group(1))
            out[year] = _profile(path, year)
    return out


def year_profiles() -> dict[int, YearProfile]:
    """Every shipped QOF-year profile, by the calendar year the QOF year starts in."""
    return _load(data_dir() / "qof")
