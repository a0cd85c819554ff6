"""The audit log window: every change (who, when, what, before and after), filtered, read-only.

The window never changes the log (the database refuses edits and deletes anyway); it only lists.
It talks to the core through :class:`desktop_app.core.AuditLogReader`, which ``Clinic``
provides: ``audit_entry_ids(filter)``, ``audit_entries_by_ids(ids)``, ``audit_actions()`` and
``audit_actors()``. The list is windowed (ids plus a bounded cache of rows), so a long log opens
at once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import AuditFilter
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.forms import qdate, set_date_format
from desktop_app.ui.models.audit_log import (
    ACTION,
    RECORD,
    WHEN,
    WHO,
    AuditLogModel,
    action_text,
)
from desktop_app.ui.style import HINT_TONE, set_tone

if TYPE_CHECKING:
    from desktop_app.core import AuditLogReader, AuditRecord

FILTER_DELAY_MS = 200
ROW_HEIGHT = 26
ALL_ACTIONS = "All actions"
COLUMN_WIDTHS = {WHEN: 170, WHO: 130, ACTION: 160, RECORD: 120}
NOTHING_SELECTED = "Select an entry to see what it changed."


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def entries_text(count: int) -> str:
    """``1 entry``, ``12 entries``."""
    return f"{count:,} entr{'y' if count == 1 else 'ies'}"


class AuditLogDialog(QDialog):
    """A non-modal, read-only window listing the audit log with filters and a detail pane."""

    def __init__(
        self, log: AuditLogReader, formatter: Formatter, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._log = log
        self._formatter = formatter
        self.setWindowTitle("Audit log")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.setSizeGripEnabled(True)
        self.resize(1080, 680)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self._on_filter_timer_timeout)
        self.model = AuditLogModel(log, self.when_text, self)
        self._build()
        self._fill_choices()
        self._show_count()
        self._select_first()

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Every change to the ledger, newest first: who made it, when, and the values before "
            "and after. The log is kept by the database and cannot be edited or deleted."
        )
        intro.setWordWrap(True)
        set_tone(intro, HINT_TONE)
        layout.addWidget(intro)

        filters = QGridLayout()
        self.action_combo = QComboBox()
        self.action_combo.setAccessibleName("Action")
        self.action_combo.setMinimumContentsLength(18)
        self.action_combo.currentIndexChanged.connect(self._on_action_combo_current_index_changed)
        self.actor_edit = QLineEdit()
        self.actor_edit.setAccessibleName("Who")
        self.actor_edit.setPlaceholderText("Anyone")
        self.actor_edit.setClearButtonEnabled(True)
        self.actor_edit.textChanged.connect(self._on_filter_text_changed)
        self.search_edit = QLineEdit()
        self.search_edit.setAccessibleName("Search the audit log")
        self.search_edit.setPlaceholderText("Search (Ctrl+F): names, reasons, amounts like 70.00")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_filter_text_changed)
        action_label = QLabel("&Action:")
        action_label.setBuddy(self.action_combo)
        actor_label = QLabel("&Who:")
        actor_label.setBuddy(self.actor_edit)
        search_label = QLabel("&Search:")
        search_label.setBuddy(self.search_edit)
        filters.addWidget(action_label, 0, 0)
        filters.addWidget(self.action_combo, 0, 1)
        filters.addWidget(actor_label, 0, 2)
        filters.addWidget(self.actor_edit, 0, 3)
        filters.addWidget(search_label, 0, 4)
        filters.addWidget(self.search_edit, 0, 5)

        self.any_date_check = QCheckBox("Any &date")
        self.any_date_check.setChecked(True)
        self.any_date_check.toggled.connect(self._on_any_date_check_toggled)
        today = qdate(date.today())
        self.from_edit = self._date_edit("From", today)
        self.to_edit = self._date_edit("To", today)
        from_label = QLabel("Fro&m:")
        from_label.setBuddy(self.from_edit)
        to_label = QLabel("&To:")
        to_label.setBuddy(self.to_edit)
        dates = QHBoxLayout()
        dates.addWidget(self.any_date_check)
        dates.addSpacing(12)
        dates.addWidget(from_label)
        dates.addWidget(self.from_edit)
        dates.addSpacing(8)
        dates.addWidget(to_label)
        dates.addWidget(self.to_edit)
        dates.addStretch(1)
        self.count_label = QLabel()
        self.count_label.setAccessibleName("Number of entries")
        dates.addWidget(self.count_label)
        filters.addLayout(dates, 1, 0, 1, 6)
        filters.setColumnStretch(3, 1)
        filters.setColumnStretch(5, 2)
        layout.addLayout(filters)

        self.table = QTableView()
        self.table.setAccessibleName("Audit log entries")
        self.table.setModel(self.model)
        self.table.setTabKeyNavigation(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)

        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 4, 0, 0)
        self.heading_label = QLabel()
        font = QFont(self.heading_label.font())
        font.setBold(True)
        self.heading_label.setFont(font)
        self.heading_label.setAccessibleName("Entry")
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setAccessibleName("Summary")
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        detail_layout.addWidget(self.heading_label)
        detail_layout.addWidget(self.summary_label)
        panes = QHBoxLayout()
        self.before_text = self._pane("Before")
        self.after_text = self._pane("After")
        for title, pane in (("&Before", self.before_text), ("A&fter", self.after_text)):
            pane_layout = QVBoxLayout()
            label = QLabel(title)
            label.setBuddy(pane)
            pane_layout.addWidget(label)
            pane_layout.addWidget(pane, 1)
            panes.addLayout(pane_layout)
        detail_layout.addLayout(panes, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 300])
        layout.addWidget(splitter, 1)

        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Show changes saved since the window opened (F5)")
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        for button in (self.refresh_button, self.close_button):
            button.setAutoDefault(False)  # Enter in a filter must not close the window
            button.setDefault(False)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

        QShortcut(
            QKeySequence(QKeySequence.StandardKey.Find), self, self._on_find_shortcut_activated
        )
        QShortcut(QKeySequence("F5"), self, self._on_refresh_button_clicked)

    def _date_edit(self, name: str, day: QDate) -> QDateEdit:
        edit = QDateEdit(day)
        edit.setAccessibleName(name)
        edit.setCalendarPopup(True)
        set_date_format(edit)
        edit.setEnabled(False)
        edit.dateChanged.connect(self._on_date_edit_date_changed)
        return edit

    @staticmethod
    def _pane(name: str) -> QPlainTextEdit:
        pane = QPlainTextEdit()
        pane.setAccessibleName(name)
        pane.setReadOnly(True)
        pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        return pane

    def _fill_choices(self) -> None:
        """The action list and the actor completions, from what is in the log now."""
        keep = self.action_combo.currentData()
        self.action_combo.blockSignals(True)
        self.action_combo.clear()
        self.action_combo.addItem(ALL_ACTIONS, None)
        for action in self._log.audit_actions():
            self.action_combo.addItem(action_text(action), action)
        found = self.action_combo.findData(keep) if keep is not None else 0
        self.action_combo.setCurrentIndex(max(found, 0))
        self.action_combo.blockSignals(False)
        completer = QCompleter(self._log.audit_actors(), self.actor_edit)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.actor_edit.setCompleter(completer)

    # -- what the window shows --------------------------------------------------------------

    @property
    def log(self) -> AuditLogReader:
        """Where the entries come from (the open clinic)."""
        return self._log

    def when_text(self, at: datetime) -> str:
        """An entry's time in the computer's local time: ``2 Nov 2026 14:03:22``."""
        local = at.astimezone()
        return f"{self._formatter.day(local.date())} {local:%H:%M:%S}"

    def current_filter(self) -> AuditFilter:
        """The filter the controls describe."""
        action = self.action_combo.currentData()
        any_date = self.any_date_check.isChecked()
        return AuditFilter(
            actions=None if action is None else frozenset({action}),
            actor=self.actor_edit.text().strip(),
            text=self.search_edit.text(),
            date_from=None if any_date else _day(self.from_edit.date()),
            date_to=None if any_date else _day(self.to_edit.date()),
        )

    def apply_filter(self) -> None:
        """Show the entries the controls ask for now (the text boxes wait for typing to pause)."""
        self._filter_timer.stop()
        keep = self.selected_entry()
        self.model.set_filter(self.current_filter())
        self._show_count()
        self._select(keep.id if keep is not None else None)

    def reload(self) -> None:
        """Read the log again: entries saved since the window opened appear."""
        keep = self.selected_entry()
        self._fill_choices()
        filt = self.current_filter()
        if filt == self.model.filter:
            self.model.reload()
        else:
            self.model.set_filter(filt)
        self._show_count()
        self._select(keep.id if keep is not None else None)

    def selected_entry(self) -> AuditRecord | None:
        """The entry whose detail is shown, if any."""
        index = self.table.currentIndex()
        return self.model.entry(index.row()) if index.isValid() else None

    def _show_count(self) -> None:
        self.count_label.setText(entries_text(self.model.rowCount()))

    def _select_first(self) -> None:
        self._select(None)

    def _select(self, entry_id: int | None) -> None:
        """Select ``entry_id`` if the filter shows it, else the newest entry shown."""
        row = self.model.row_of(entry_id) if entry_id is not None else -1
        if row < 0 and self.model.rowCount():
            row = 0
        if row < 0:
            self.table.clearSelection()
            self._show_entry(None)
            return
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)
        self._show_entry(self.model.entry(row))

    def _show_entry(self, record: AuditRecord | None) -> None:
        if record is None:
            self.heading_label.setText(
                NOTHING_SELECTED if self.model.rowCount() else "No entries match the filter."
            )
            self.summary_label.setText("")
            self.before_text.setPlainText("")
            self.after_text.setPlainText("")
            return
        self.heading_label.setText(
            f"{record.record} · {action_text(record.action)} · {self.when_text(record.at)} · "
            f"{record.actor}"
        )
        self.summary_label.setText(record.summary)
        self.before_text.setPlainText(record.before_text)
        self.after_text.setPlainText(record.after_text)

    # -- slots ------------------------------------------------------------------------------

    def _on_filter_text_changed(self, _text: str) -> None:
        self._filter_timer.start()

    def _on_filter_timer_timeout(self) -> None:
        self.apply_filter()

    def _on_action_combo_current_index_changed(self, _index: int) -> None:
        self.apply_filter()

    def _on_any_date_check_toggled(self, checked: bool) -> None:
        for edit in (self.from_edit, self.to_edit):
            edit.setEnabled(not checked)
        self.apply_filter()

    def _on_date_edit_date_changed(self, _day: QDate) -> None:
        # Keep the range the right way round: moving one end past the other moves both.
        if self.from_edit.date() > self.to_edit.date():
            other = self.to_edit if self.sender() is self.from_edit else self.from_edit
            other.blockSignals(True)
            other.setDate(_day)
            other.blockSignals(False)
        self._filter_timer.start()

    def _on_table_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_entry(self.model.entry(current.row()) if current.isValid() else None)

    def _on_refresh_button_clicked(self) -> None:
        self.reload()

    def _on_find_shortcut_activated(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()
