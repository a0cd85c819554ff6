"""Tools > Reports…: takings and aged receivables, filters, sorting, totals and CSV export."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import QDate, QPoint, Qt

from desktop_app.ui.dialogs.reports import ReportsWindow, aged_row_text
from desktop_app.ui.main_window import MainWindow

TODAY = date.today()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


@pytest.fixture
def ledger(clinic):
    ada = clinic.add_patient("Ada", "Lovelace")
    alan = clinic.add_patient("Alan", "Turing")
    grace = clinic.add_patient("Grace", "Hopper")
    clinic.create_invoice(ada, [("Consult", "80", 1)], issue_date=days_ago(5))
    clinic.create_invoice(ada, [("Consult", "60", 1)], issue_date=days_ago(45))
    clinic.create_invoice(alan, [("Consult", "200", 1)], issue_date=days_ago(100))
    clinic.create_invoice(grace, [("Consult", "30", 1)], issue_date=days_ago(70))
    clinic.record_payment(clinic.preview_payment(ada, {"Cash": "20", "EFTPOS": "30"}), "p1")
    clinic.record_payment(
        clinic.preview_payment(grace, {"Credit card": "100"}, payment_date=days_ago(1)), "p2"
    )
    clinic.refund_credit(grace, "10", method="Cash", request_id="r1")
    return {"ada": ada, "alan": alan, "grace": grace}


@pytest.fixture
def window(qtbot, clinic, formatter, ledger):
    shown = ReportsWindow(clinic, formatter)
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    yield shown
    shown.close()


def texts(window, model):
    return [aged_row_text(model, model.row(r)) for r in range(model.rowCount())]


def test_todays_takings_by_payment_type_and_their_reconciliation(window):
    assert texts(window, window.takings_model) == [
        ["Cash", "$20.00", "$10.00", "$10.00", "2"],
        ["EFTPOS", "$30.00", "$0.00", "$30.00", "1"],
    ]
    summary = window.takings_summary.text()
    assert "Received $50.00, refunded $10.00: net $40.00." in summary
    assert "$50.00 was applied to invoices and $0.00 left as account credit" in summary


def test_the_period_and_payment_type_filters(window):
    window.set_period(days_ago(1), TODAY)
    assert [row[0] for row in texts(window, window.takings_model)] == [
        "Cash",
        "EFTPOS",
        "Credit card",
    ]
    assert "$100.00 of account credit" not in window.takings_summary.text()
    assert "$80.00 was applied to invoices and $70.00 left as account credit" in (
        window.takings_summary.text()
    )
    window.set_payment_type("Credit card")
    assert texts(window, window.takings_model) == [
        ["Credit card", "$100.00", "$0.00", "$100.00", "1"]
    ]
    window.set_payment_type(None)
    window.start_edit.setDate(QDate(TODAY.year, TODAY.month, TODAY.day))
    window.end_edit.setDate(QDate(*days_ago(3).timetuple()[:3]))  # the end before the start
    assert window.takings_model.rowCount() == 0
    assert "end date is before its start date" in window.message_label.text()


def test_aged_receivables_sorted_by_any_column_with_totals(qtbot, window, clinic):
    window.tabs.setCurrentIndex(1)
    rows = texts(window, window.aged_model)
    assert rows[0][:6] == ["Turing, Alan", "$0.00", "$0.00", "$0.00", "$200.00", "$200.00"]
    assert [r[0] for r in rows] == ["Turing, Alan", "Lovelace, Ada"]  # Grace paid in full
    assert "2 patients owe $290.00 in all" in window.aged_summary.text()
    assert window.aged.total == clinic.summary().outstanding
    header = window.aged_table.horizontalHeader()
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(header.sectionViewportPosition(0) + 5, header.height() // 2),
    )
    assert [r[0] for r in texts(window, window.aged_model)] == ["Lovelace, Ada", "Turing, Alan"]
    window.as_of_edit.setDate(QDate(*(TODAY + timedelta(days=30)).timetuple()[:3]))
    ada = next(r for r in texts(window, window.aged_model) if r[0] == "Lovelace, Ada")
    assert ada[1:5] == ["$0.00", "$80.00", "$10.00", "$0.00"]  # 5 days old is now 35; 45 is 75
    assert window.as_of_edit.minimumDate() == QDate(TODAY.year, TODAY.month, TODAY.day)


def test_export_writes_the_table_as_shown_with_plain_numbers(window, tmp_path, clinic, ledger):
    path = tmp_path / "takings.csv"
    assert window.export(path) == 2
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Payment type", "Received", "Refunded", "Net", "Payments"]
    assert rows[1] == ["Cash", "20.00", "10.00", "10.00", "2"]
    assert rows[-4] == ["Total", "50.00", "10.00", "40.00"]
    clinic.refund_credit(ledger["grace"], "30", method="Cash", request_id="r2")
    window.refresh()
    window.set_payment_type("Cash")
    assert window.export(path) == 1
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1] == ["Cash", "20.00", "40.00", "-20.00", "3"]
    assert rows[-4] == ["Total", "20.00", "40.00", "-20.00"]  # a number, not text: no quote
    assert "payments that used Cash" in window.takings_summary.text()
    window.set_payment_type(None)
    window.tabs.setCurrentIndex(1)
    aged = tmp_path / "aged.csv"
    assert window.export(aged) == 2
    with aged.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0] == "Turing, Alan" and rows[1][-1] == days_ago(100).isoformat()
    assert rows[-2] == ["Total", "80.00", "10.00", "0.00", "200.00", "290.00"]
    assert rows[-1] == ["Ages counted from", "invoice date"]


def test_a_patient_name_that_looks_like_a_formula_is_exported_as_text(
    clinic, formatter, qtbot, tmp_path
):
    pid = clinic.add_patient("Evil", "=HYPERLINK(x)")
    clinic.create_invoice(pid, [("Consult", "10", 1)])
    shown = ReportsWindow(clinic, formatter)
    qtbot.addWidget(shown)
    shown.tabs.setCurrentIndex(1)
    path = tmp_path / "aged.csv"
    shown.export(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        cell = list(csv.reader(handle))[1][0]
    assert cell == "'=HYPERLINK(x), Evil"  # shown as text by a spreadsheet, never run
    shown.close()


def test_the_main_window_opens_reports_from_the_tools_menu(qtbot, clinic, ledger):
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.show()
    assert main.reports_action.shortcut().toString() == "Ctrl+Shift+D"
    main.reports_action.trigger()
    window = main._reports_window
    assert isinstance(window, ReportsWindow) and window.isVisible()
    assert window.takings_model.rowCount() == 2
    clinic.record_payment(clinic.preview_payment(ledger["alan"], {"Health fund": "5"}), "p9")
    main.reports_action.trigger()  # again: the same window, read afresh
    assert main._reports_window is window and window.takings_model.rowCount() == 3
    window.close()
    main.close()


def test_the_report_models_pass_the_model_tester(qtmodeltester, window):
    qtmodeltester.check(window.takings_model)
    qtmodeltester.check(window.aged_model)


def test_account_credit_held_on_a_day_with_dormant_credit_and_the_chart(window, clinic, ledger):
    window.tabs.setCurrentIndex(2)
    rows = texts(window, window.liability_model)
    # Grace prepaid $100 yesterday: $30 paid her invoice, $10 refunded today, $60 held.
    assert [row[:2] for row in rows] == [["Hopper, Grace", "$60.00"]]
    assert rows[0][4] == "0" and rows[0][5] == ""  # refunded today: active, not dormant
    assert window.liability.total == clinic.summary().credit_held == Decimal("60.00")
    assert "1 patient held $60.00 of account credit" in window.liability_summary.text()
    points = window.liability_chart.points
    assert len(points) == 13 and points[-1][1] == Decimal("60.00")
    window.held_on_edit.setDate(QDate(*days_ago(1).timetuple()[:3]))  # before today's refund
    assert window.liability.total == Decimal("70.00")
    window.held_on_edit.setDate(QDate(*days_ago(2).timetuple()[:3]))  # before the prepayment
    assert window.liability_model.rowCount() == 0 and window.liability.total == 0
    grab = window.grab()
    assert not grab.isNull()


def test_takings_and_ages_are_charted_as_bars(window):
    assert window.takings_chart.bars == [("Cash", Decimal("10.00")), ("EFTPOS", Decimal("30.00"))]
    assert "EFTPOS: $30.00" in window.takings_chart.accessibleDescription()
    assert window.takings_chart.height() > 0 and not window.takings_chart.grab().isNull()
    # Ada owes $80 (5 days) and $10 (45 days, $50 paid); Alan $200 (100 days); Grace paid.
    assert [amount for _, amount in window.aged_chart.bars] == [
        Decimal("80.00"),
        Decimal("10.00"),
        Decimal("0.00"),
        Decimal("200.00"),
    ]
    assert window.aged_chart.bars[3][0] == "Over 90 days"
    window.set_period(days_ago(400), days_ago(300))  # nothing taken then: no bars
    assert window.takings_chart.bars == [] and window.takings_chart.height() == 0


def test_aged_receivables_by_due_date_and_its_export(qtbot, window, clinic, tmp_path):
    emmy = clinic.add_patient("Emmy", "Noether")
    clinic.create_invoice(
        emmy, [("Consult", "50", 1)], issue_date=days_ago(60), due_date=days_ago(10)
    )
    window.refresh()
    window.tabs.setCurrentIndex(1)

    def emmy_row() -> list[str]:
        return next(r for r in texts(window, window.aged_model) if r[0] == "Noether, Emmy")

    assert emmy_row()[1:5] == ["$0.00", "$50.00", "$0.00", "$0.00"]  # issued 60 days ago
    combo = window.age_by_combo
    assert "without a due date ages from its invoice date" in combo.toolTip()
    combo.setFocus()
    qtbot.keyClicks(combo, "D")  # type to choose "Due date"
    assert combo.currentText() == "Due date"
    assert emmy_row()[1:5] == ["$50.00", "$0.00", "$0.00", "$0.00"]  # due 10 days ago
    alan = next(r for r in texts(window, window.aged_model) if r[0] == "Turing, Alan")
    assert alan[1:5] == ["$0.00", "$0.00", "$0.00", "$200.00"]  # no due date: its invoice date
    assert window.aged.total == clinic.summary().outstanding
    assert "Ages counted from the due date" in window.aged_summary.text()
    assert window._suggested_name().startswith("aged-receivables-by-due-date-")

    path = tmp_path / "aged.csv"
    window.export(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[[r[0] for r in rows].index("Noether, Emmy")][:6] == [
        "Noether, Emmy",
        "50.00",
        "0.00",
        "0.00",
        "0.00",
        "50.00",
    ]
    assert rows[-1] == [
        "Ages counted from",
        "due date (invoice date where an invoice has no due date)",
    ]


def test_revenue_by_practitioner_and_by_item_sorted_charted_and_exported(
    qtbot, window, clinic, ledger, tmp_path
):
    clinic.add_staff("boss", "Boss", "administrator", "correct horse battery")
    clinic.add_staff("smith", "Dr Smith", "practitioner", "correct horse battery")
    smith = next(s.id for s in clinic.practitioners())
    massage = clinic.add_billable_item("MS", "Massage", "95.00", tax_rate="10")
    clinic.create_invoice(
        ledger["alan"],
        [{"item": massage, "quantity": "0.5"}],
        practitioner_id=smith,
        issue_date=days_ago(2),
    )
    window.tabs.setCurrentIndex(3)
    window.set_revenue_period(days_ago(120), TODAY)
    model = window.revenue_model
    # Dr Smith: half of $95.00 is $47.50, and $4.75 of GST on top.
    assert texts(window, model) == [
        ["Dr Smith", "1", "$47.50", "$4.75", "$52.25", "$0.00", "$0.00", "$52.25"],
        ["No practitioner", "4", "$370.00", "$0.00", "$370.00", "$0.00", "$80.00", "$290.00"],
    ]
    assert "$417.50 invoiced excluding tax, $422.25 including it" in (window.revenue_summary.text())
    # Sorting is by amount, not by the text shown.
    window.revenue_table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    assert [model.row(r).name for r in range(2)] == ["Dr Smith", "No practitioner"]
    window.revenue_table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert [model.row(r).name for r in range(2)] == ["No practitioner", "Dr Smith"]
    path = tmp_path / "revenue.csv"
    assert window.export(path) == 2
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "Name"
    assert rows[-1] == ["Total", "5", "417.50", "4.75", "422.25", "0.00", "80.00", "342.25"]
    # By billable item: the massage line, and the free-text lines together.
    window.set_revenue_period(days_ago(120), TODAY, by="item")
    assert sorted(model.row(r).name for r in range(model.rowCount())) == [
        "Free-text lines",
        "MS Massage",
    ]
    assert window._suggested_name().startswith("revenue-by-item-")
