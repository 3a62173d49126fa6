"""The one error the letters layer raises: a template that cannot be used, and where."""

from __future__ import annotations


class TemplateProblem(Exception):
    """A broken letter template. `line` counts paragraphs in a .docx, lines in a text file."""

    def __init__(
        self, template: str, message: str, line: int | None = None, near: str = ""
    ) -> None:
        self.template = template
        self.message = message
        self.line = line
        self.near = near
        where = f" line {line}" if line is not None else ""
        hint = f" (near: {near})" if near else ""
        super().__init__(f"template {template}{where}: {message}{hint}")
