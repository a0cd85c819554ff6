"""The audit log window: opened from Tools, lists every change newest first, filters by action,
who, text and dates, shows before and after, and offers no way to change anything."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView

from desktop_app.core import Clinic
from desktop_app.core.demo import populate
from desktop_app.ui.dialogs.audit_log_dialog import AuditLogDialog
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.models import audit_log as audit_model
from desktop_app.ui.models.audit_log import ACTION, RECORD, SUMMARY, WHEN, WHO


@pytest.fixture
def worked(clinic: Clinic) -> dict[str, int]:
    """A patient added, invoiced, paying $70 ($20 to credit), refunded $5, the invoice voided."""
    pid = clinic.add_patient("Ada", "Lovelace")
    iid = clinic.create_invoice(pid, [("Consult", "50", 1)], issue_date=date(2026, 1, 5))
    pay = clinic.record_payment(clinic.preview_payment(pid, sources={"EFTPOS": "70"}), "p-1")
    clinic.refund_credit(pid, "5", method="Cash", request_id="r-1", reason="parking")
    clinic.void_invoice(iid, "wrong patient")
    return {"patient": pid, "invoice": iid, "payment": pay}


@pytest.fixture
def window(qtbot, clinic, worked) -> MainWindow:
    main = MainWindow(clinic)
    main.formatter.locale = "en_AU"
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    return main


def open_log(window: MainWindow) -> AuditLogDialog:
    window.audit_log_action.trigger()
    dialog = window.findChild(AuditLogDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def column(dialog: AuditLogDialog, col: int) -> list[str]:
    model = dialog.table.model()
    return [model.index(row, col).data() for row in range(model.rowCount())]


def test_tools_menu_opens_a_read_only_window_listing_every_change_newest_first(window):
    assert window.audit_log_action.shortcut().toString() == "Ctrl+Shift+L"
    assert window.audit_log_action.text() == "&Audit log…"
    dialog = open_log(window)
    assert dialog.windowTitle() == "Audit log" and not dialog.isModal()
    assert dialog.count_label.text() == "5 entries"
    assert column(dialog, ACTION) == [
        "Void invoice",
        "Refund credit",
        "Record payment",
        "Create invoice",
        "Add patient",
    ]
    assert column(dialog, WHO) == ["database owner"] * 5
    assert column(dialog, RECORD)[0] == "Invoice #1"
    summary = column(dialog, SUMMARY)[2]
    assert summary.endswith("$70.00 (EFTPOS $70.00), $50.00 to invoice #1, $20.00 left as credit")
    # When: the local date and time of the change.
    entry = dialog.model.entry(0)
    assert entry is not None
    local = entry.at.astimezone()
    assert column(dialog, WHEN)[0] == f"{window.formatter.day(local.date())} {local:%H:%M:%S}"
    # Opening it again brings the same window forward, with anything saved since.
    window.clinic.add_patient("Grace", "Hopper")
    assert open_log(window) is dialog
    assert dialog.count_label.text() == "6 entries"
    assert column(dialog, SUMMARY)[0].endswith("Hopper, Grace")


def test_nothing_in_the_window_can_edit_the_log(window, qtmodeltester):
    dialog = open_log(window)
    model = dialog.model
    qtmodeltester.check(model)
    for row in range(model.rowCount()):
        for col in range(model.columnCount()):
            flags = model.flags(model.index(row, col))
            assert not flags & Qt.ItemFlag.ItemIsEditable
    assert dialog.table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    assert not model.setData(model.index(0, SUMMARY), "changed")
    assert dialog.before_text.isReadOnly() and dialog.after_text.isReadOnly()
    buttons = {b.text() for b in (dialog.refresh_button, dialog.close_button)}
    assert buttons == {"&Refresh", "Close"}  # no edit, delete or undo anywhere


def test_rows_have_a_fixed_height_and_columns_are_never_sized_to_contents(window):
    dialog = open_log(window)
    vertical = dialog.table.verticalHeader()
    horizontal = dialog.table.horizontalHeader()
    assert vertical.sectionResizeMode(0) == QHeaderView.ResizeMode.Fixed
    for col in range(dialog.model.columnCount()):
        assert horizontal.sectionResizeMode(col) != QHeaderView.ResizeMode.ResizeToContents


def test_filter_by_action(window):
    dialog = open_log(window)
    combo = dialog.action_combo
    assert combo.itemText(0) == "All actions"
    assert [combo.itemText(i) for i in range(1, combo.count())] == [
        "Add patient",
        "Create invoice",
        "Record payment",
        "Refund credit",
        "Void invoice",
    ]
    combo.setCurrentIndex(combo.findText("Refund credit"))
    assert column(dialog, ACTION) == ["Refund credit"]
    assert dialog.count_label.text() == "1 entry"
    assert "Refunded $5.00 of account credit" in column(dialog, SUMMARY)[0]
    combo.setCurrentIndex(0)
    assert dialog.count_label.text() == "5 entries"


def test_search_as_you_type_and_by_who(qtbot, window):
    dialog = open_log(window)
    qtbot.keyClicks(dialog.search_edit, "parking")
    qtbot.waitUntil(lambda: dialog.count_label.text() == "1 entry")
    assert column(dialog, ACTION) == ["Refund credit"]
    # Enter in the search box does not close the window.
    qtbot.keyClick(dialog.search_edit, Qt.Key.Key_Return)
    assert dialog.isVisible()
    dialog.search_edit.clear()
    qtbot.keyClicks(dialog.search_edit, "70.00")  # an amount finds the payment of $70.00
    qtbot.waitUntil(lambda: column(dialog, ACTION) == ["Record payment"])
    dialog.search_edit.clear()
    qtbot.keyClicks(dialog.actor_edit, "somebody else")
    qtbot.waitUntil(lambda: dialog.count_label.text() == "0 entries")
    assert dialog.heading_label.text() == "No entries match the filter."
    assert dialog.after_text.toPlainText() == ""
    dialog.actor_edit.clear()
    qtbot.keyClicks(dialog.actor_edit, "OWNER")
    qtbot.waitUntil(lambda: dialog.count_label.text() == "5 entries")


def test_filter_by_dates(qtbot, window):
    dialog = open_log(window)
    assert not dialog.from_edit.isEnabled()
    dialog.any_date_check.setChecked(False)
    assert dialog.from_edit.isEnabled() and dialog.to_edit.isEnabled()
    local_today = dialog.model.entry(0).at.astimezone().date()
    today = QDate(local_today.year, local_today.month, local_today.day)
    dialog.from_edit.setDate(today)
    dialog.to_edit.setDate(today)
    dialog.apply_filter()
    assert dialog.count_label.text() == "5 entries"
    yesterday = today.addDays(-1)
    dialog.from_edit.setDate(yesterday)
    dialog.to_edit.setDate(yesterday)
    qtbot.waitUntil(lambda: dialog.count_label.text() == "0 entries")
    # Moving "from" past "to" moves "to" along: the range is never backwards.
    dialog.from_edit.setDate(today.addDays(3))
    assert dialog.to_edit.date() == today.addDays(3)
    dialog.any_date_check.setChecked(True)
    assert dialog.count_label.text() == "5 entries"
    assert dialog.current_filter().date_from is None


def test_selecting_an_entry_shows_before_and_after_with_amounts_formatted(qtbot, window, worked):
    dialog = open_log(window)
    # The newest entry is shown at once.
    assert dialog.heading_label.text().startswith("Invoice #1 · Void invoice · ")
    assert dialog.before_text.toPlainText() == "Status: paid\nPaid: $50.00"
    assert "Returned to account credit: $50.00" in dialog.after_text.toPlainText()
    row = column(dialog, ACTION).index("Record payment")
    dialog.table.selectRow(row)
    assert dialog.summary_label.text() == (
        f"Recorded payment {worked['payment']} for Lovelace, Ada: "
        "$70.00 (EFTPOS $70.00), $50.00 to invoice #1, $20.00 left as credit"
    )
    assert dialog.before_text.toPlainText() == "Account credit: $0.00"
    after = dialog.after_text.toPlainText().splitlines()
    assert "    EFTPOS: $70.00" in after
    assert "    invoice #1: $50.00" in after
    assert "Left as account credit: $20.00" in after
    row = column(dialog, ACTION).index("Add patient")
    dialog.table.selectRow(row)
    assert "did not exist before" in dialog.before_text.toPlainText()
    assert dialog.after_text.toPlainText() == "First name: Ada\nLast name: Lovelace"
    # A filter that keeps the selected entry keeps it selected.
    qtbot.keyClicks(dialog.search_edit, "ada")
    qtbot.waitUntil(lambda: dialog.count_label.text() == "1 entry")
    assert dialog.heading_label.text().startswith("Patient Lovelace, Ada · Add patient")


def test_a_long_log_is_read_in_pages_and_only_a_bounded_cache_is_kept(
    qtbot, clinic, formatter, monkeypatch
):
    populate(clinic, today=date.today() - timedelta(days=1))
    fetched: list[int] = []

    class Counting:
        """The clinic, counting how many entries each page read asks for."""

        def audit_entry_ids(self, filt=None, *, newest_first=True):
            return clinic.audit_entry_ids(filt, newest_first=newest_first)

        def audit_entries_by_ids(self, ids):
            fetched.append(len(ids))
            return clinic.audit_entries_by_ids(ids)

        def audit_actions(self):
            return clinic.audit_actions()

        def audit_actors(self):
            return clinic.audit_actors()

    monkeypatch.setattr(audit_model, "CACHE_LIMIT", 250)
    dialog = AuditLogDialog(Counting(), formatter)
    qtbot.addWidget(dialog)
    dialog.show()
    total = dialog.model.rowCount()
    assert total > 250 and dialog.count_label.text() == f"{total} entries"
    for row in range(total):
        assert dialog.model.index(row, SUMMARY).data()
    assert max(fetched) <= audit_model.WINDOW
    assert len(fetched) <= 4  # pages, not one read per row
    assert dialog.model.cached_rows <= 250
