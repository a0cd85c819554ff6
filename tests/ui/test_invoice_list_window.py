"""The "All invoices" window and its fetchMore model, and File > Export… with its worker thread."""

from __future__ import annotations

import csv
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtWidgets import QDialog, QHeaderView

from desktop_app.core import Clinic
from desktop_app.core.interchange.export import ExportCancelled
from desktop_app.ui.dialogs import export_dialog as export_dialog_module
from desktop_app.ui.dialogs.export_dialog import ExportDialog, suggested_name
from desktop_app.ui.dialogs.invoice_list import InvoiceListWindow, invoices_text
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.models.invoices import (
    BALANCE,
    DUE,
    NUMBER,
    PATIENT,
    STATUS,
    TOTAL,
    InvoiceListModel,
)


def fill(clinic: Clinic, invoices: int = 12) -> dict[str, int]:
    """Three patients and ``invoices`` invoices between them; #3 is void, #2 is paid."""
    pids = {
        "ada": clinic.add_patient("Ada", "Lovelace"),
        "grace": clinic.add_patient("Grace", "Hopper"),
        "alan": clinic.add_patient("Alan", "Turing"),
    }
    order = [pids["ada"], pids["grace"], pids["alan"]]
    for n in range(invoices):
        clinic.create_invoice(
            order[n % 3],
            [("Consult", str(40 + n), 1)],
            issue_date=date(2026, 1, 1) + timedelta(days=n),
        )
    second = clinic.invoice_page(search="2").rows[0]
    clinic.record_payment(
        clinic.preview_payment(second.patient_id, {"Cash": "41"}, source_invoice=second.id), "p"
    )
    clinic.void_invoice(clinic.invoice_page(search="3").rows[0].id)
    return pids


def numbers(model: InvoiceListModel) -> list[int]:
    return [model.invoice(row).number for row in range(model.rowCount())]


@pytest.fixture
def closing(qtbot):
    """Widgets closed before the clinic is (no count or repaint reads a closed clinic)."""
    widgets = []

    def add(widget):
        qtbot.addWidget(widget)
        widgets.append(widget)
        return widget

    yield add
    for widget in reversed(widgets):
        widget.close()


@pytest.fixture
def window(qtbot, clinic, formatter, closing) -> InvoiceListWindow:
    fill(clinic)
    shown = closing(InvoiceListWindow(clinic, formatter))
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def test_model_passes_the_model_tester_while_fetching_pages(qtmodeltester, clinic, formatter):
    fill(clinic)
    model = InvoiceListModel(clinic, formatter, page_size=5)
    assert model.rowCount() == 5 and model.canFetchMore(QModelIndex())
    qtmodeltester.check(model)  # fetches the remaining pages as it checks
    model.reload()
    model.fetchMore(QModelIndex())
    qtmodeltester.check(model)


def test_fetch_more_reads_one_page_at_a_time(qtbot, clinic, formatter):
    fill(clinic)
    model = InvoiceListModel(clinic, formatter, page_size=5)
    assert numbers(model) == [1, 2, 3, 4, 5] and model.pages_read == 1
    with qtbot.waitSignal(model.rowsInserted) as inserted:
        model.fetchMore(QModelIndex())
    assert inserted.args[1:] == [5, 9]
    assert numbers(model) == list(range(1, 11)) and model.pages_read == 2
    model.fetchMore(QModelIndex())
    assert numbers(model) == list(range(1, 13)) and not model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())  # nothing more: no query
    assert model.pages_read == 3
    index = model.index(1, BALANCE)
    assert model.data(index) == "$0.00"
    assert model.data(model.index(1, TOTAL)) == "$41.00"
    assert model.data(model.index(0, NUMBER)) == "#1"
    assert model.data(model.index(0, PATIENT)) == "Lovelace, Ada"
    assert model.data(model.index(2, STATUS)) == "Void"
    assert model.data(model.index(0, DUE)) == ""
    assert model.data(index, Qt.ItemDataRole.TextAlignmentRole) == int(
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    )


class _PageReads:
    """Counts the clinic's page reads; can make the next ones fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, clinic: Clinic) -> None:
        self.count = 0
        self.fail = False
        real = clinic.invoice_page

        def counted(**kwargs):
            self.count += 1
            if self.fail:
                raise RuntimeError("The database server went away.")
            return real(**kwargs)

        monkeypatch.setattr(clinic, "invoice_page", counted)


def test_the_next_page_is_read_ahead_and_inserted_without_a_query(
    qtbot, monkeypatch, clinic, formatter
):
    fill(clinic)
    reads = _PageReads(monkeypatch, clinic)
    model = InvoiceListModel(clinic, formatter, page_size=5, max_rows=100)
    assert reads.count == 1 and numbers(model) == [1, 2, 3, 4, 5]
    qtbot.wait(20)
    assert reads.count == 1, "a first page (after a search, say) is not followed by a read"
    model.fetchMore(QModelIndex())  # scrolled to page 2: read then
    assert reads.count == 2 and numbers(model) == list(range(1, 11))
    qtbot.waitUntil(lambda: reads.count == 3)  # the next turn of the event loop reads page 3
    assert model.rowCount() == 10  # read, not shown: the view has not scrolled there
    model.fetchMore(QModelIndex())
    assert reads.count == 3, "the page read ahead is inserted without another query"
    assert numbers(model) == list(range(1, 13)) and not model.has_more
    assert (model.pages_read, model.pages_read_ahead) == (3, 1)
    qtbot.wait(20)
    assert reads.count == 3, "nothing is read ahead past the last page"


def scrolled(model: InvoiceListModel, reads: _PageReads) -> None:
    """Scroll to the second page (read then), so the third is read ahead."""
    model.fetchMore(QModelIndex())
    assert reads.count == 2


def test_a_page_read_ahead_is_dropped_when_the_search_or_order_changes(
    qtbot, monkeypatch, clinic, formatter
):
    fill(clinic)
    reads = _PageReads(monkeypatch, clinic)
    model = InvoiceListModel(clinic, formatter, page_size=3)
    scrolled(model, reads)
    qtbot.waitUntil(lambda: reads.count == 3)
    model.set_order("number", descending=True)  # new first page; page 3 of the old order is gone
    assert numbers(model) == [12, 11, 10] and reads.count == 4
    model.fetchMore(QModelIndex())
    assert reads.count == 5 and numbers(model) == list(range(12, 6, -1))
    assert model.pages_read_ahead == 0


def test_a_stale_page_read_ahead_is_read_again(qtbot, monkeypatch, clinic, formatter):
    from desktop_app.ui.models import invoices as invoices_module

    fill(clinic)
    reads = _PageReads(monkeypatch, clinic)
    model = InvoiceListModel(clinic, formatter, page_size=3)
    scrolled(model, reads)
    qtbot.waitUntil(lambda: reads.count == 3)
    clinic.void_invoice(model.invoice(0).id + 6)  # invoice #7 changes after page 3 was read
    monkeypatch.setattr(invoices_module, "READ_AHEAD_FRESH_S", 0.0)
    model.fetchMore(QModelIndex())
    assert reads.count == 4 and model.pages_read_ahead == 0
    assert model.invoice(6).number == 7 and model.invoice(6).status == "void"


def test_a_failed_read_ahead_is_silent_and_the_fetch_reports_it(
    qtbot, monkeypatch, clinic, formatter
):
    fill(clinic)
    reads = _PageReads(monkeypatch, clinic)
    model = InvoiceListModel(clinic, formatter, page_size=3)
    scrolled(model, reads)
    reads.fail = True
    qtbot.waitUntil(lambda: reads.count == 3)  # failed: nothing kept, nothing raised
    assert model.rowCount() == 6
    with pytest.raises(RuntimeError, match="went away"):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 6 and model.has_more  # nothing half-inserted
    reads.fail = False
    model.fetchMore(QModelIndex())
    assert numbers(model) == list(range(1, 10))


def test_read_ahead_can_be_turned_off_and_stops_when_the_window_closes(
    qtbot, monkeypatch, clinic, formatter, closing
):
    fill(clinic)
    reads = _PageReads(monkeypatch, clinic)
    off = InvoiceListModel(clinic, formatter, page_size=3, read_ahead=False)
    scrolled(off, reads)
    qtbot.wait(20)
    assert reads.count == 2
    pending = InvoiceListModel(clinic, formatter, page_size=3)
    pending.fetchMore(QModelIndex())  # its read ahead is due next turn
    pending.cancel_read_ahead()
    qtbot.wait(20)
    assert reads.count == 4, "only what was scrolled to was read"
    window = closing(InvoiceListWindow(clinic, formatter))
    cancelled = []
    monkeypatch.setattr(window.model, "cancel_read_ahead", lambda: cancelled.append(True))
    window.close()
    assert cancelled, "closing the window stops reading ahead (the clinic may close next)"


def test_loaded_rows_are_capped(qtbot, clinic, formatter):
    fill(clinic)
    model = InvoiceListModel(clinic, formatter, page_size=5, max_rows=6)
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 10 and model.at_limit and model.has_more
    assert not model.canFetchMore(QModelIndex())
    model.set_order("number", descending=True)  # the other end is one click away
    assert numbers(model)[:2] == [12, 11] and not model.at_limit


def test_window_opens_on_the_first_page_and_counts_on_a_thread(window):
    assert window.windowTitle() == "All invoices" and not window.isModal()
    assert numbers(window.model) == list(range(1, 13))
    window.wait_for_count()  # the count arrives as a queued signal
    rows = window.table.verticalHeader()
    assert rows.sectionResizeMode(0) == QHeaderView.ResizeMode.Fixed
    header = window.table.horizontalHeader()
    assert all(
        header.sectionResizeMode(c) != QHeaderView.ResizeMode.ResizeToContents
        for c in range(window.model.columnCount())
    )


def test_count_label(qtbot, window):
    qtbot.waitUntil(lambda: window.count_label.text() == "12 invoices")
    window.set_status("void")
    qtbot.waitUntil(lambda: window.count_label.text() == "1 invoice")
    assert invoices_text(1_000_000) == "1,000,000 invoices"


def test_header_clicks_sort_in_the_database(qtbot, window):
    model, header = window.model, window.table.horizontalHeader()
    before = model.pages_read

    def click(column: int) -> None:
        qtbot.mouseClick(
            header.viewport(),
            Qt.MouseButton.LeftButton,
            pos=QPoint(header.sectionViewportPosition(column) + 5, header.height() // 2),
        )

    click(PATIENT)
    assert model.sort_key == "patient" and not model.descending
    assert model.pages_read == before + 1
    names = [model.invoice(r).patient_name for r in range(model.rowCount())]
    assert names == sorted(names) and names[0] == "Hopper, Grace"
    click(PATIENT)
    assert model.sort_key == "patient" and model.descending
    assert model.invoice(0).patient_name == "Turing, Alan"
    click(BALANCE)
    balances = [model.invoice(r).balance for r in range(model.rowCount())]
    assert balances == sorted(balances)
    reads = model.pages_read
    click(DUE)  # no order of its own: nothing is read, the indicator stays on Balance
    assert model.pages_read == reads and model.sort_key == "balance"
    assert header.sortIndicatorSection() == BALANCE


def test_search_and_status_filter(qtbot, window):
    model = window.model
    qtbot.keyClicks(window.search_edit, "love")
    qtbot.waitUntil(lambda: model.search == "love")  # after the typing pause
    assert {model.invoice(r).patient_name for r in range(model.rowCount())} == {"Lovelace, Ada"}
    assert numbers(model) == [1, 4, 7, 10]
    window.search_edit.setText("#7")
    window.apply_search()
    assert numbers(model) == [7]
    window.search_edit.clear()
    window.apply_search()
    window.set_status("void")
    assert numbers(model) == [3] and model.status == "void"
    window.set_status("paid")
    assert numbers(model) == [2]
    window.set_status(None)
    assert model.rowCount() == 12


def test_enter_on_an_invoice_shows_its_patient_in_the_main_window(qtbot, clinic, closing):
    pids = fill(clinic)
    main = closing(MainWindow(clinic))
    main.formatter.locale = "en_AU"
    main.show()
    qtbot.waitExposed(main)
    assert main.invoice_list_action.shortcut().toString() == "Ctrl+Shift+I"
    main.invoice_list_action.trigger()
    listing = main._invoice_list_window
    assert isinstance(listing, InvoiceListWindow) and listing.isVisible()
    qtbot.waitExposed(listing)
    listing.search_edit.setText("Turing")
    listing.apply_search()
    listing.table.setFocus()
    listing.table.selectRow(1)
    with qtbot.waitSignal(listing.patient_chosen) as chosen:
        qtbot.keyClick(listing.table, Qt.Key.Key_Return)
    assert chosen.args == [pids["alan"]]
    assert main.patient_id == pids["alan"] and main.name_label.text() == "Alan Turing"
    assert listing.isVisible()  # Enter chose the invoice; it did not close the window
    # A patient hidden by the main window's own search is still shown.
    main.search_edit.setText("Hopper")
    main._on_search_timer_timeout()
    listing.search_edit.setText("Ada")
    listing.apply_search()
    listing.choose(0)
    assert main.patient_id == pids["ada"]
    again = main.open_invoice_list()
    assert again is listing  # the same window, brought to the front and read again
    listing.close()


def test_scrolling_to_the_end_fetches_the_next_page(qtbot, clinic, formatter, closing):
    fill(clinic, invoices=40)
    shown = closing(InvoiceListWindow(clinic, formatter))
    shown.model._page_size = 8
    shown.model.reload()
    shown.show()
    qtbot.waitExposed(shown)
    loaded = shown.model.rowCount()
    assert 8 <= loaded < 40  # the view fetched only what fills it
    for _ in range(10):
        shown.table.scrollToBottom()
        qtbot.wait(1)
    assert shown.model.rowCount() > loaded
    while shown.model.canFetchMore(QModelIndex()):
        shown.table.verticalScrollBar().setValue(shown.table.verticalScrollBar().maximum())
        qtbot.wait(1)
    assert numbers(shown.model) == list(range(1, 41))


# -- export ------------------------------------------------------------------------------------


def test_export_from_the_file_menu(qtbot, clinic, tmp_path, with_modal, monkeypatch, closing):
    fill(clinic)
    main = closing(MainWindow(clinic))
    target = tmp_path / "out" / "invoices"
    target.parent.mkdir()
    monkeypatch.setattr(ExportDialog, "choose_path", lambda self, suggested: target)
    seen: dict[str, object] = {}

    def export(dialog: QDialog) -> None:
        assert isinstance(dialog, ExportDialog)
        seen["suggested"] = Path(dialog.path_edit.text()).name
        dialog.set_kind("invoices")
        qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
        assert dialog.path_edit.text() == str(target.with_suffix(".csv"))
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        assert dialog.running and dialog.close_button.text() == "Cancel"
        qtbot.waitUntil(lambda: not dialog.running)
        seen["status"] = dialog.status_label.text()
        seen["rows"] = dialog.rows_written
        qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)

    with_modal(export)
    main.export_action.trigger()
    assert seen["suggested"] == suggested_name("invoices")
    assert seen["rows"] == 12
    assert seen["status"] == f"Exported 12 invoices to {target.with_suffix('.csv')}."
    with target.with_suffix(".csv").open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 12


def test_export_can_be_cancelled(qtbot, clinic, tmp_path, monkeypatch, closing):
    started = threading.Event()

    def slow_export(clinic, kind, path, *, progress, cancel):
        progress(0, 1000)
        started.set()
        while not cancel():
            # Simulates a batch of rows being written between cancel checks (as the real export
            # does), in the worker thread: a stand-in for work, not a wait for a condition.
            time.sleep(0.005)
        raise ExportCancelled("The export was cancelled; no file was written.")

    monkeypatch.setattr(export_dialog_module, "export_csv", slow_export)
    dialog = closing(ExportDialog(clinic))
    dialog.path_edit.setText(str(tmp_path / "p.csv"))
    assert dialog.start_export()
    assert started.wait(5)
    qtbot.waitUntil(lambda: dialog.progress_bar.maximum() == 1000)
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)  # "Cancel"
    qtbot.waitUntil(lambda: not dialog.running)
    assert dialog.status_label.text() == "The export was cancelled; no file was written."
    assert dialog.rows_written is None and not (tmp_path / "p.csv").exists()


def test_export_problems_are_shown_and_an_existing_file_is_confirmed(
    qtbot, clinic, tmp_path, monkeypatch, closing
):
    clinic.add_patient("Ada", "Lovelace")
    dialog = closing(ExportDialog(clinic))
    dialog.set_kind("patients")
    dialog.path_edit.setText(str(tmp_path / "missing" / "p.csv"))
    assert dialog.start_export()
    qtbot.waitUntil(lambda: not dialog.running)
    assert "no folder" in dialog.status_label.text() and dialog.rows_written is None
    existing = tmp_path / "p.csv"
    existing.write_text("keep me", encoding="utf-8")
    dialog.path_edit.setText(str(existing))
    monkeypatch.setattr(ExportDialog, "confirm_replace", lambda self, path: False)
    assert not dialog.start_export()
    assert existing.read_text(encoding="utf-8") == "keep me"
    monkeypatch.setattr(ExportDialog, "confirm_replace", lambda self, path: True)
    assert dialog.start_export()
    qtbot.waitUntil(lambda: not dialog.running)
    assert dialog.rows_written == 1 and dialog.exported_path == existing
    assert dialog.status_label.text() == f"Exported 1 patient to {existing}."
