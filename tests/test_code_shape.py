"""The shape the code promises: use-cases read as load -> decide -> write -> audit, in functions
short enough to read whole, and the one invitation rule is the only place rules live."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parent.parent / "recall" / "services"
MAX_LINES = 80


def test_no_service_function_is_longer_than_80_lines() -> None:
    long = []
    for path in sorted(SERVICES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(SERVICES)}:{node.lineno} {node.name} {lines}")
    assert long == []


def test_services_hold_no_copy_of_the_stage_rules() -> None:
    """Stage decisions come from domain/invitations.py: no service imports the old helpers."""
    for path in sorted(SERVICES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "domain.eligibility" not in text, path
        assert "check_gap" not in text and "stage_decision" not in text, path
