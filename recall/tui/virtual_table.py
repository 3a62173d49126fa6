"""A table that draws only the rows on screen, so thousands of rows open and scroll at once.

Textual's DataTable measures every cell when rows are added (about a second for 2,000 rows of
7 columns); this widget has fixed column widths and renders each visible line on demand with
the Line API (the habit of toolong's log view), caching the lines it drew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from recall.domain.text import printable

Cell = str | tuple[str, str]  # text, or (text, rich style such as "bold green")
FLEX_FLOOR = 24  # a fixed column grows only while the flexible ones keep this much room


@dataclass(frozen=True)
class Column:
    label: str
    width: int  # 0: take the room that is left


def fit_widths(widths: Sequence[int], widest: Sequence[int], total: int) -> list[int]:
    """Column widths for a line of `total` cells (each column is padded by one cell a side).

    A fixed width (> 0) is the least a column gets; it grows towards its widest value while
    the flexible columns (width 0) keep FLEX_FLOOR cells or their own widest value, so a wide
    terminal shows whole values instead of "Coronary heart dise…". Flexible columns share the
    rest.
    """
    out = list(widths)
    flexible = [i for i, w in enumerate(out) if not w]
    room = total - sum(w + 2 for w in out if w) - 2 * len(flexible)
    spare = room - sum(min(widest[i], FLEX_FLOOR) for i in flexible)
    for i, w in enumerate(out):
        if w and spare > 0 and widest[i] > w:
            grow = min(spare, widest[i] - w)
            out[i] += grow
            spare -= grow
            room -= grow
    share = max(room, 4) // max(len(flexible), 1)
    return [w or share for w in out]


class VirtualTable(ScrollView, can_focus=True):
    """Rows of cells under a fixed header, with a row cursor and zebra stripes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--even",
        "virtual-table--odd",
    }
    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        scrollbar-gutter: stable;
    }
    VirtualTable > .virtual-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    VirtualTable > .virtual-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    VirtualTable:focus > .virtual-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    VirtualTable > .virtual-table--even {
        background: $surface;
    }
    VirtualTable > .virtual-table--odd {
        background: $surface-lighten-1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    @dataclass
    class Highlighted(Message):
        table: VirtualTable
        index: int
        key: str | None

    @dataclass
    class Selected(Message):
        table: VirtualTable
        index: int
        key: str | None

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.columns: list[Column] = []
        self.keys: list[str] = []
        self.cells: list[Sequence[Cell]] = []
        self._index: dict[str, int] = {}
        self._widest: list[int] = []  # per column: the widest value, header included
        self._cache: LRUCache[tuple[int, bool, int, bool], Strip] = LRUCache(1024)

    # -- data --------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.keys)

    def set_columns(self, columns: Sequence[tuple[str, int]]) -> None:
        self.columns = [Column(label, width) for label, width in columns]
        self._measure()
        self._cache.clear()
        self.refresh()

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Replace every row; the cursor stays on the same key when it is still there."""
        old = self.current_key()
        self.keys = [k for k, _ in rows]
        self.cells = [c for _, c in rows]
        self._index = {k: i for i, k in enumerate(self.keys)}
        self._measure()
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)
        target = self._index.get(old, 0) if old is not None else 0
        self.cursor_row = min(target, max(len(self.keys) - 1, 0))
        self.refresh()

    def update_row(self, key: str, cells: Sequence[Cell]) -> None:
        index = self._index.get(key)
        if index is None:
            return
        self.cells[index] = cells
        self._measure()
        self._cache.clear()
        self.refresh()

    def current_key(self) -> str | None:
        if 0 <= self.cursor_row < len(self.keys):
            return self.keys[self.cursor_row]
        return None

    def move_to_key(self, key: str) -> None:
        if key in self._index:
            self.cursor_row = self._index[key]

    # -- cursor ------------------------------------------------------------------------

    @property
    def _page(self) -> int:
        return max(self.size.height - 2, 1)

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.keys) - 1)) if self.keys else 0

    def watch_cursor_row(self, row: int) -> None:
        self._cache.clear()
        top = round(self.scroll_offset.y)
        visible = max(self.size.height - 1, 1)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Highlighted(self, row, self.current_key()))

    def action_move(self, step: int) -> None:
        self.cursor_row += step

    def action_page(self, step: int) -> None:
        self.cursor_row += step * self._page

    def action_jump(self, where: int) -> None:
        self.cursor_row = where if where >= 0 else len(self.keys) - 1

    def action_select(self) -> None:
        if self.keys:
            self.post_message(self.Selected(self, self.cursor_row, self.current_key()))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = round(self.scroll_offset.y) + event.y - 1
        if 0 <= index < len(self.keys):
            if index == self.cursor_row and event.chain > 1:
                self.action_select()
            self.cursor_row = index

    def on_resize(self) -> None:
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)

    # -- drawing -----------------------------------------------------------------------

    def _measure(self) -> None:
        widest = [cell_len(c.label) for c in self.columns]
        for row in self.cells:
            for i, cell in enumerate(row[: len(widest)]):
                text = cell if isinstance(cell, str) else cell[0]
                widest[i] = max(widest[i], cell_len(printable(text)))
        self._widest = widest

    def _widths(self, total: int) -> list[int]:
        """Fixed columns keep their width, and grow to their widest value when the line has
        room to spare (a wide terminal shows whole names); the others share what is left."""
        widths = [c.width for c in self.columns]
        widest = self._widest if len(self._widest) == len(widths) else widths
        return fit_widths(widths, widest, total)

    def _line(self, cells: Sequence[Cell], base: Style, width: int) -> Strip:
        segments = []
        for cell, w in zip(cells, self._widths(width), strict=False):
            text, style = (cell, "") if isinstance(cell, str) else cell
            text = printable(text)  # stored text: escape sequences dropped, breaks as spaces
            if cell_len(text) > w:
                text = set_cell_size(text, w - 1) + "…" if w > 1 else set_cell_size(text, w)
            style_obj = base + Style.parse(style) if style else base
            segments.append(Segment(" ", base))
            segments.append(Segment(set_cell_size(text, w), style_obj))
            segments.append(Segment(" ", base))
        return Strip(segments).adjust_cell_length(width, base)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        if y == 0:
            style = self.get_component_rich_style("virtual-table--header")
            return self._line([c.label for c in self.columns], style, width)
        index = round(self.scroll_offset.y) + y - 1
        if not 0 <= index < len(self.keys):
            return Strip.blank(width, self.rich_style)
        is_cursor = index == self.cursor_row
        key = (index, is_cursor, width, self.has_focus)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if is_cursor:
            style = self.get_component_rich_style("virtual-table--cursor")
        else:
            style = self.get_component_rich_style(
                "virtual-table--odd" if index % 2 else "virtual-table--even"
            )
        strip = self._line(self.cells[index], style, width)
        self._cache[key] = strip
        return strip

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()
