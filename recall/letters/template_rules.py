"""What a staff-edited template may not contain, refused with its line when it is compiled.

Escaping is what keeps a patient called `O'Brien & <Sons>` (or one whose name is Word XML)
from breaking or rewriting the letter, so nothing may turn it off (`|safe`, `{% autoescape
false %}`). A template is one file: include/import/extends would reach other files and, with
no loader, failed as "unexpected problem (TypeError)" with no line.
"""

from __future__ import annotations

from jinja2 import TemplateSyntaxError, nodes

_ONE_FILE: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}
_NO_ESCAPE_OFF = "escaping cannot be turned off, so every name prints exactly as written"


def forbidden(tree: nodes.Template) -> list[tuple[int, str]]:
    """(line, message) for every construct a letter template may not use, in line order."""
    found: list[tuple[int, str]] = []
    kinds: tuple[type[nodes.Node], ...] = (*_ONE_FILE, nodes.Filter, nodes.EvalContextModifier)
    node: nodes.Node
    for node in tree.find_all(kinds):
        if isinstance(node, nodes.Filter):
            if node.name in ("safe", "markup"):
                found.append((node.lineno, f"'|{node.name}' is not allowed: {_NO_ESCAPE_OFF}"))
        elif isinstance(node, nodes.EvalContextModifier):
            found.append((node.lineno, f"'{{% autoescape %}}' is not allowed: {_NO_ESCAPE_OFF}"))
        else:
            tag = _ONE_FILE[type(node)]
            found.append(
                (
                    node.lineno,
                    f"'{{% {tag} %}}' is not allowed: a template is one file "
                    "(copy the text into it instead)",
                )
            )
    for node in tree.find_all(nodes.Name):
        if node.name in ("Markup", "markup"):
            found.append((node.lineno, f"'{node.name}' is not allowed: {_NO_ESCAPE_OFF}"))
    return sorted(found)


def refuse_forbidden(tree: nodes.Template) -> None:
    """Raise TemplateSyntaxError at the first forbidden construct (callers add the line)."""
    problems = forbidden(tree)
    if problems:
        line, message = problems[0]
        raise TemplateSyntaxError(message, line)
