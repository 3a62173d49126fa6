"""Column mappings: which header in a SystmOne/EMIS/practice export means which field.

Mappings are data (`data/mappings/*.toml`) so a practice can add its own. Every mapping also
accepts the canonical column names, and header matching ignores case, spaces, '-' and '_'.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from recall.importers.source import normalise_header
from recall.resources import data_dir

KINDS = ("patients", "registers", "events")

FIELDS: dict[str, tuple[str, ...]] = {
    "patients": (
        "nhs_number",
        "family_name",
        "given_name",
        "date_of_birth",
        "title",
        "sex",
        "address_line1",
        "address_line2",
        "address_line3",
        "address_line4",
        "postcode",
        "mobile",
        "email",
        "registered_on",
        "deregistered_on",
        "date_of_death",
        "recall_month",
        "communication_needs",
        "practice",
    ),
    "registers": ("nhs_number", "condition", "diagnosed_on", "resolved_on"),
    "events": ("nhs_number", "date", "code", "term", "value"),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "patients": ("nhs_number", "family_name", "given_name", "date_of_birth"),
    "registers": ("nhs_number", "condition"),
    "events": ("nhs_number", "date", "code"),
}

CANONICAL = "canonical"


class MappingError(ValueError):
    """A mapping name or file that cannot be used."""


@dataclass(frozen=True)
class ColumnMapping:
    key: str
    title: str
    columns: AbcMapping[str, AbcMapping[str, tuple[str, ...]]]  # kind -> field -> headers
    fill_down: frozenset[str] = frozenset()
    source: str = ""
    notes: str = field(default="", compare=False)

    def aliases(self, kind: str, name: str) -> tuple[str, ...]:
        """Normalised headers accepted for one field (canonical name first)."""
        extra = self.columns.get(kind, {}).get(name, ())
        return (normalise_header(name), *extra)

    def resolve(self, kind: str, header: Sequence[str]) -> dict[str, int]:
        """Field -> column index for this header row (first matching column wins)."""
        normalised = [normalise_header(h) for h in header]
        found: dict[str, int] = {}
        for name in FIELDS[kind]:
            for alias in self.aliases(kind, name):
                if alias in normalised:
                    found[name] = normalised.index(alias)
                    break
        return found

    def missing(self, kind: str, header: Sequence[str]) -> list[str]:
        found = self.resolve(kind, header)
        return [f for f in REQUIRED[kind] if f not in found]


def canonical_mapping() -> ColumnMapping:
    return ColumnMapping(CANONICAL, "canonical CSV (formats.md)", {}, source="built in")


def mappings_dir() -> Path:
    return data_dir() / "mappings"


def shipped_mapping_names() -> list[str]:
    folder = mappings_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _parse(raw: dict[str, object], key: str, source: str) -> ColumnMapping:
    columns: dict[str, dict[str, tuple[str, ...]]] = {}
    raw_columns = raw.get("columns", {})
    if not isinstance(raw_columns, dict):
        raise MappingError(f"mapping {source}: [columns] must be a table")
    for kind, fields in raw_columns.items():
        if kind not in FIELDS:
            raise MappingError(
                f"mapping {source}: unknown section columns.{kind} (use {', '.join(KINDS)})"
            )
        if not isinstance(fields, dict):
            raise MappingError(f"mapping {source}: columns.{kind} must be a table")
        columns[kind] = {}
        for name, headers in fields.items():
            if name not in FIELDS[kind]:
                raise MappingError(
                    f"mapping {source}: columns.{kind}.{name} is not a field of {kind} "
                    f"({', '.join(FIELDS[kind])})"
                )
            if isinstance(headers, str):
                headers = [headers]
            if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
                raise MappingError(
                    f"mapping {source}: columns.{kind}.{name} must be a list of header names"
                )
            columns[kind][name] = tuple(normalise_header(h) for h in headers)
    fill = raw.get("fill_down", [])
    if not isinstance(fill, list):
        raise MappingError(f"mapping {source}: fill_down must be a list of field names")
    return ColumnMapping(
        key=str(raw.get("key", key)),
        title=str(raw.get("title", key)),
        columns=columns,
        fill_down=frozenset(str(f) for f in fill),
        source=source,
        notes=str(raw.get("notes", "")),
    )


def load_mapping_file(path: Path) -> ColumnMapping:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise MappingError(f"mapping file {path.name} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping file {path.name} is not valid TOML ({exc})") from None
    return _parse(raw, path.stem, path.name)


def load_mapping(name_or_file: str) -> ColumnMapping:
    """A shipped mapping by name (`systmone`, `emis`, `canonical`) or a practice's TOML file."""
    text = name_or_file.strip()
    if text.lower() == CANONICAL:
        return canonical_mapping()
    path = Path(text).expanduser()
    if path.suffix.lower() == ".toml" or path.is_file():
        return load_mapping_file(path)
    shipped = mappings_dir() / f"{text.lower()}.toml"
    if shipped.is_file():
        return load_mapping_file(shipped)
    names = ", ".join([CANONICAL, *shipped_mapping_names()])
    raise MappingError(f"unknown mapping {text!r}: use one of {names}, or a .toml file")


def candidate_mappings() -> list[ColumnMapping]:
    """Canonical first, then every shipped mapping: used when no --mapping is given."""
    return [canonical_mapping(), *(load_mapping(n) for n in shipped_mapping_names())]
