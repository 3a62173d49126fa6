"""Where the shipped data files live, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def data_dir() -> Path:
    """`data/`: conditions.toml, code lists, clinical-system profiles, import mappings."""
    return _find("data")


def templates_dir() -> Path:
    """`letter_templates/`: the shipped letter and SMS templates."""
    return _find("letter_templates")
