"""Tools > Accounting export…: preview, export into a folder, the history, and the accounts."""

from __future__ import annotations

import pytest

from desktop_app.core.interchange.accounting_batch import FILES
from desktop_app.ui.dialogs.accounting_export import AccountingExportDialog
from desktop_app.ui.main_window import MainWindow


@pytest.fixture
def ledger(clinic):
    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(ada, [("Consult", "50", 1, "10")])
    clinic.record_payment(clinic.preview_payment(ada, {"EFTPOS": "80"}), "p")
    return ada


@pytest.fixture
def dialog(qtbot, clinic, ledger):
    main = MainWindow(clinic)
    qtbot.addWidget(main)
    main.show()
    main.accounting_export_action.trigger()
    window = main._accounting_window
    assert isinstance(window, AccountingExportDialog) and window.isVisible()
    qtbot.waitUntil(lambda: not window.busy)
    return window


def settle(qtbot, dialog) -> None:
    """Wait for the window's worker thread (a preview or an export) to finish."""
    qtbot.waitUntil(lambda: not dialog.busy)


def test_preview_then_export_then_nothing_left(qtbot, dialog, clinic, tmp_path):
    text = dialog.preview_text.toPlainText()
    assert "preview (nothing written)" in text and "EFTPOS: $80.00" in text
    assert dialog.export_button.isEnabled()
    out = tmp_path / "out"
    out.mkdir()
    dialog.folder_edit.setText(str(out))
    dialog.export_button.click()
    assert dialog.busy and not dialog.export_button.isEnabled()  # on the worker thread
    settle(qtbot, dialog)
    (folder,) = out.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES.values())
    assert "Exported to" in dialog.message_label.text()
    assert dialog.history_table.rowCount() == 1
    assert dialog.history_table.item(0, 5).text() == str(folder)
    dialog.refresh()
    settle(qtbot, dialog)
    assert not dialog.export_button.isEnabled()
    assert "Nothing new or changed" in dialog.preview_text.toPlainText()


def test_a_missing_folder_is_refused_and_nothing_is_saved(qtbot, dialog, clinic, tmp_path):
    dialog.folder_edit.setText(str(tmp_path / "nowhere"))
    dialog.export_button.click()
    settle(qtbot, dialog)
    assert "does not exist" in dialog.message_label.text()
    assert clinic.accounting_exports() == []


def test_accounts_tab_saves_the_mapping_and_refuses_bad_codes(qtbot, dialog, clinic):
    assert dialog.sales_edit.text() == "200"
    types = [
        dialog.clearing_table.item(r, 0).text() for r in range(dialog.clearing_table.rowCount())
    ]
    assert "EFTPOS" in types
    row = types.index("EFTPOS")
    dialog.clearing_table.item(row, 1).setText("1-1210")
    dialog.sales_edit.setText("4000")
    assert dialog.save_mapping()
    mapping = clinic.accounting_mapping()
    assert mapping.sales_account == "4000" and mapping.clearing_accounts["EFTPOS"] == "1-1210"
    dialog.sales_edit.setText("40 00!")
    assert not dialog.save_mapping()
    assert "account code" in dialog.message_label.text()
    assert clinic.accounting_mapping().sales_account == "4000"
    # A tax rate left without a Xero name is refused; one removed makes the preview say which
    # rate the invoices need, and there is nothing to export until it is set.
    dialog.load_mapping()
    rates = [dialog.tax_table.item(r, 0).text() for r in range(dialog.tax_table.rowCount())]
    ten = rates.index("10")
    dialog.tax_table.item(ten, 1).setText("")
    assert not dialog.save_mapping()
    assert "10%" in dialog.message_label.text()
    dialog.tax_table.removeRow(ten)
    assert dialog.save_mapping()
    settle(qtbot, dialog)
    assert "Cannot export yet" in dialog.preview_text.toPlainText()
    assert "taxed at 10%" in dialog.preview_text.toPlainText()
    assert not dialog.export_button.isEnabled()


@pytest.mark.parametrize(
    ("rate", "message"),
    [("ten", "not a number"), ("Infinity", "not a number"), ("12.345", "two decimal places")],
)
def test_a_tax_rate_that_is_not_a_rate_is_refused(dialog, clinic, rate, message):
    before = clinic.accounting_mapping()
    dialog._on_add_tax_clicked()
    row = dialog.tax_table.rowCount() - 1
    dialog.tax_table.item(row, 0).setText(rate)
    dialog.tax_table.item(row, 1).setText("Some tax")
    assert not dialog.save_mapping()
    assert message in dialog.message_label.text()
    assert clinic.accounting_mapping() == before
