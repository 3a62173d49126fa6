"""Settings (practice details, recall month, days between letters, clinical system) and the
code-list readiness table with, for each blocked condition, how to fix it."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, DataTable, Footer, Header, Label, Select, Static

from recall.services.settings import PracticeSettings
from recall.services.views.settings_view import (
    ConditionReadiness,
    SettingsView,
    load_settings_view,
    set_condition_enabled,
    update_settings,
)
from recall.tui.safe import cells, plain
from recall.tui.screens.base import RecallScreen
from recall.tui.widgets import ConfirmModal, OnOffBox, TextBox, add_columns


@dataclass
class SettingsLoaded(Message):
    view: SettingsView


@dataclass
class SettingsSaved(Message):
    changed: list[str]
    view: SettingsView


def _field(label: str, widget: TextBox | Select[str] | Checkbox, note: str = "") -> Horizontal:
    widget.compact = True
    children: list[Label | TextBox | Select[str] | Checkbox | Static] = [Label(label), widget]
    if note:
        children.append(Static(note, classes="note"))
    return Horizontal(*children, classes="field")


class SettingsScreen(RecallScreen):
    TITLE = "Settings"
    HELP = """\
Change the practice details printed on letters, how patients' recall month is chosen, how many
days must pass between letters (at least 7, usually 14), and which clinical system the practice
uses (this decides the letter codes).

Press **Ctrl+S** to save. If you press Esc with changes not saved, you are asked first.
Press **Ctrl+L** to see which conditions can be coded and how to fix the others.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="save"),
        Binding("ctrl+l", "codes", "Code lists", id="codes"),
        Binding("f1", "app.help", "Help", id="help"),
        Binding("escape", "back", "Back", id="back"),
    ]

    view: SettingsView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        # above the form, so a refusal is seen whatever part of the form is on screen
        yield Static("Loading settings…", id="settings-status", classes="hint")
        yield VerticalScroll(classes="form", id="settings-form")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        view = load_settings_view(self.ctx.db, practice_id=self.ctx.practice_id)
        self.post_message(SettingsLoaded(view))

    @on(SettingsLoaded)
    async def _loaded(self, message: SettingsLoaded) -> None:
        self.view = message.view
        s = message.view.settings
        form = self.query_one("#settings-form")
        await form.remove_children()
        await form.mount_all(
            [
                Static("Practice details (printed on letters)", classes="title"),
                _field("Practice name", TextBox(s.practice_name, id="practice_name")),
                _field(
                    "Address",
                    TextBox(", ".join(s.address), id="address", placeholder="lines, with commas"),
                ),
                _field("Phone", TextBox(s.phone, id="phone")),
                _field("Booking link", TextBox(s.booking_url, id="booking_url")),
                _field("Email", TextBox(s.email, id="email")),
                _field(
                    "Signed by",
                    TextBox(s.signatory, id="signatory", placeholder="e.g. Dr A Patel, GP partner"),
                ),
                Static("Invitations", classes="title"),
                _field(
                    "Recall month",
                    Select(
                        [(words, key) for key, words in message.view.recall_rules],
                        value=s.recall_rule,
                        allow_blank=False,
                        id="recall_rule",
                    ),
                ),
                _field(
                    "Days between letters",
                    TextBox(
                        str(s.stage_interval_days),
                        id="stage_interval_days",
                        type="integer",
                        max_length=3,
                    ),
                    "at least 7",
                ),
                _field("Send texts (SMS)", OnOffBox(s.sms_enabled, id="sms_enabled")),
                _field(
                    "Also add generic code",
                    OnOffBox(s.record_generic, id="record_generic"),
                    "beside each condition's own code",
                ),
                _field(
                    "Name all conditions",
                    OnOffBox(s.name_sensitive_conditions, id="name_sensitive_conditions"),
                    "Off: depression, mental illness, dementia, learning disability read "
                    "'annual health review'",
                ),
                _field(
                    "Clinical system",
                    Select(
                        [(name, key) for key, name in message.view.clinical_systems],
                        value=s.clinical_system,
                        allow_blank=False,
                        id="clinical_system",
                    ),
                ),
            ]
        )
        self._status("Ctrl+S saves.")
        self.query_one("#practice_name", TextBox).focus()

    def edited(self) -> PracticeSettings | None:
        """The settings as the form now shows them (None before they have loaded)."""
        if self.view is None:
            return None
        new = copy.deepcopy(self.view.settings)

        def text(wid: str) -> str:
            return self.query_one(f"#{wid}", TextBox).value.strip()

        new.practice_name = text("practice_name")
        new.address = [p.strip() for p in text("address").split(",") if p.strip()]
        new.phone = text("phone")
        new.booking_url = text("booking_url")
        new.email = text("email")
        new.signatory = text("signatory")
        new.name_sensitive_conditions = self.query_one("#name_sensitive_conditions", Checkbox).value
        interval = text("stage_interval_days")
        new.stage_interval_days = int(interval) if interval.isdigit() else -1
        new.sms_enabled = self.query_one("#sms_enabled", Checkbox).value
        new.record_generic = self.query_one("#record_generic", Checkbox).value
        for wid in ("recall_rule", "clinical_system"):
            value = self.query_one(f"#{wid}", Select).value
            if isinstance(value, str):
                setattr(new, wid, value)
        return new

    def unsaved_work(self) -> str:
        new = self.edited()
        if new is None or self.view is None or new.to_json() == self.view.settings.to_json():
            return ""
        return "Your changes to the settings are not saved. Leave without saving them?"

    def action_save(self) -> None:
        new = self.edited()
        if new is None:
            return
        if new.stage_interval_days < 7:
            box = self.query_one("#stage_interval_days", TextBox)
            self._status("Not saved: days between letters must be a number, at least 7.", True)
            box.focus()
            box.scroll_visible()
            return
        self.save(new)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def save(self, new: PracticeSettings) -> None:
        db, pid = self.ctx.db, self.ctx.practice_id
        changed = update_settings(db, new, practice_id=pid)
        self.post_message(SettingsSaved(changed, load_settings_view(db, practice_id=pid)))

    @on(SettingsSaved)
    def _saved(self, message: SettingsSaved) -> None:
        self.view = message.view
        text = "Saved." if message.changed else "Nothing had changed."
        self._status(text)
        self.notify(text, timeout=3)

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#settings-status", Static)
        status.update(text)
        status.set_class(error, "error-text")
        status.set_class(not error, "hint")

    def action_codes(self) -> None:
        self.app.push_screen(CodesScreen())


@dataclass
class ReadinessLoaded(Message):
    rows: tuple[ConditionReadiness, ...]


class CodesScreen(RecallScreen):
    TITLE = "Code lists"
    HELP = """\
Each condition needs a confirmed list of its QOF invitation codes before the tool can record
its code. "Ready" conditions are invited and coded. For any other, the panel at the bottom says
what is missing and how to fix it (usually: download the official cluster file and import it).

Press **e** to turn the highlighted condition on or off. A condition whose code is not verified
can be turned on only after you have read the warning.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "switch", "Turn on/off", id="switch"),
        Binding("escape", "back", "Back", id="back"),
    ]

    rows: tuple[ConditionReadiness, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="codes", cursor_type="row", zebra_stripes=True)
        yield Static("", id="fix", classes="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        add_columns(table, ("Condition", 28), ("Status", 22), ("Code list", 20))
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from recall.services.views.settings_view import readiness_rows

        rows = readiness_rows(self.ctx.db, practice_id=self.ctx.practice_id)
        self.post_message(ReadinessLoaded(rows))

    @on(ReadinessLoaded)
    def _loaded(self, message: ReadinessLoaded) -> None:
        self.rows = message.rows
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for r in self.rows:
            mark = "✓ " if r.ready else "✗ "
            table.add_row(
                *cells(r.name, mark + r.status_words, r.cluster or "none published"), key=r.key
            )
        if self.rows:
            table.move_cursor(row=min(row, len(self.rows) - 1))
        self._show_fix(table.cursor_row)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_fix(event.cursor_row)

    def _show_fix(self, index: int) -> None:
        if not 0 <= index < len(self.rows):
            return
        r = self.rows[index]
        if r.ready and r.status == "ready":
            text = f"{r.name}: ready. Record code {r.record_code} from {r.cluster}."
        else:
            text = f"{r.name}: {r.reason}.\nTo fix: {r.fix}" if r.fix else f"{r.name}: {r.reason}."
            if r.status in ("needs_code_list", "provisional"):
                text += "\nOr here: on the home screen press i and choose 'Code list'."
        self.query_one("#fix", Static).update(plain(text))

    def action_switch(self) -> None:
        index = self.query_one(DataTable).cursor_row
        if 0 <= index < len(self.rows):
            self._toggle(self.rows[index])

    def _toggle(self, row: ConditionReadiness) -> None:
        turn_on = not row.enabled
        if not (turn_on and row.provisional):
            self.save_toggle(row.key, turn_on)
            return

        def answered(ok: bool | None) -> None:
            if ok:
                self.save_toggle(row.key, True)

        self.app.push_screen(
            ConfirmModal(
                f"Turn on {row.name} with an unverified code?",
                f"The code for {row.name} is not verified against the official "
                f"{row.cluster} file. Importing that file is the safe way to turn it on. "
                "Turn it on anyway?",
                yes="Turn on",
                no="Cancel",
            ),
            answered,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="toggle")
    def save_toggle(self, key: str, enabled: bool) -> None:
        from recall.services.views.settings_view import readiness_rows

        db, pid = self.ctx.db, self.ctx.practice_id
        set_condition_enabled(db, key, enabled, practice_id=pid)
        self.post_message(ReadinessLoaded(readiness_rows(db, practice_id=pid)))
