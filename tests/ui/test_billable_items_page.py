"""Settings > Billable items: adding, editing, archiving and restoring catalogue items."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from desktop_app.core import Clinic, Role
from desktop_app.ui.settings.billable_item_dialog import BillableItemDialog
from desktop_app.ui.settings.billable_items_page import BillableItemsPage
from desktop_app.ui.settings.settings_dialog import PAGES, SettingsDialog
from tests.helpers import STAFF_PASSWORD, staff_team


def _answering(page: BillableItemsPage, fill: Callable[[BillableItemDialog], None]) -> None:
    """Make the page's next item window fill itself in and press OK."""
    opened = page.item_dialog

    def item_dialog(item=None):  # type: ignore[no-untyped-def]
        dialog = opened(item)
        fill(dialog)
        dialog.exec = lambda: dialog.save()  # type: ignore[method-assign]
        return dialog

    page.item_dialog = item_dialog  # type: ignore[method-assign]


def _fill_new(dialog: BillableItemDialog) -> None:
    dialog.code_edit.setText("C1")
    dialog.name_edit.setText("Standard consultation")
    dialog.price_edit.setText("95.00")
    dialog.tax_edit.setText("10")
    dialog.add_concession("Pensioner", "75.00")


def _rows(page: BillableItemsPage) -> list[str]:
    return [page.table.item(row, 0).text() for row in range(page.table.rowCount())]


def test_the_page_is_in_the_settings_and_an_item_is_added_through_the_dialog(qtbot, clinic):
    dialog = SettingsDialog(clinic, page=PAGES.index("Billable items"))
    qtbot.addWidget(dialog)
    page = dialog.billable_items_page
    assert dialog.pages.currentWidget() is page
    _answering(page, _fill_new)
    assert page.add_item()
    (item,) = clinic.billable_items()
    assert (item.code, item.name, item.kind) == ("C1", "Standard consultation", "service")
    assert item.price == Decimal("95.00") and item.tax_rate == Decimal("10")
    assert item.concession_prices == {"Pensioner": Decimal("75.00")}
    assert _rows(page) == ["C1"]
    assert "Pensioner 75.00" in page.table.item(0, 5).text()
    assert "new invoices only" in page.tax_note.text()


def test_editing_the_price_saves_it_and_the_list_shows_it(qtbot, clinic):
    clinic.add_billable_item("C1", "Standard consultation", "95.00", tax_rate="10")
    page = BillableItemsPage(clinic)
    qtbot.addWidget(page)
    assert page.select_code("C1")
    _answering(page, lambda dialog: dialog.price_edit.setText("105.50"))
    assert page.edit_selected()
    assert clinic.billable_items()[0].price == Decimal("105.50")
    assert page.table.item(0, 3).text() == "105.50"


def test_archive_hides_the_item_and_restore_brings_it_back(qtbot, clinic):
    clinic.add_billable_item("C1", "Standard consultation", "95.00")
    clinic.add_billable_item("X9", "Crutches", "40.00", kind="product")
    page = BillableItemsPage(clinic)
    qtbot.addWidget(page)
    assert page.select_code("C1")
    assert page.archive_button.isEnabled() and not page.restore_button.isEnabled()
    page.archive_button.click()
    assert _rows(page) == ["X9"]
    assert [i.code for i in clinic.billable_items()] == ["X9"]
    page.archived_check.setChecked(True)
    assert _rows(page) == ["C1", "X9"]
    assert page.table.item(0, 6).text() == "Archived"
    assert page.select_code("C1")
    assert page.restore_button.isEnabled() and not page.archive_button.isEnabled()
    page.restore_button.click()
    page.archived_check.setChecked(False)
    assert _rows(page) == ["C1", "X9"]
    assert [i.code for i in clinic.billable_items()] == ["C1", "X9"]


def test_the_search_box_narrows_the_list(qtbot, clinic):
    clinic.add_billable_item("C1", "Standard consultation", "95.00")
    clinic.add_billable_item("X9", "Crutches", "40.00", kind="product")
    page = BillableItemsPage(clinic)
    qtbot.addWidget(page)
    page.search_edit.setText("crutch")
    assert _rows(page) == ["X9"]


def test_a_refused_price_is_shown_next_to_it_and_nothing_is_saved(qtbot, clinic):
    page = BillableItemsPage(clinic)
    qtbot.addWidget(page)
    seen: list[BillableItemDialog] = []

    def fill(dialog: BillableItemDialog) -> None:
        _fill_new(dialog)
        dialog.price_edit.setText("95.001")
        seen.append(dialog)

    _answering(page, fill)
    assert not page.add_item()
    assert clinic.billable_items() == []
    problem = seen[0].problems["price"]
    assert not problem.isHidden() and problem.text()
    assert seen[0].problems["code"].isHidden()


def test_a_concession_price_above_the_price_is_refused_by_the_table(qtbot, clinic):
    dialog = BillableItemDialog(clinic)
    qtbot.addWidget(dialog)
    _fill_new(dialog)
    dialog.add_concession("DVA", "120.00")
    assert not dialog.save()
    assert not dialog.problems["concession_prices"].isHidden()
    assert clinic.billable_items() == []


@pytest.mark.usefixtures("quick_hashes")
def test_a_receptionist_sees_the_catalogue_but_cannot_change_it(qtbot, new_sqlite_url):
    url = new_sqlite_url()
    with Clinic.open(url) as setup:
        team = staff_team(setup, (Role.ADMINISTRATOR, Role.RECEPTIONIST), sign_in=False)
        admin = setup.sign_in("admin", STAFF_PASSWORD)
        admin.add_billable_item("C1", "Standard consultation", "95.00")
        assert team
    desk = Clinic.open(url).sign_in("desk", STAFF_PASSWORD)
    try:
        page = BillableItemsPage(desk)
        qtbot.addWidget(page)
        assert _rows(page) == ["C1"]
        assert page.select_code("C1")
        assert not page.add_button.isEnabled() and not page.edit_button.isEnabled()
        assert not page.archive_button.isEnabled()
        assert not page.add_item() and not page.edit_selected()
        page.archive_selected()
        assert [i.code for i in desk.billable_items()] == ["C1"]
    finally:
        desk.close()


def test_the_catalogue_goes_to_a_spreadsheet_and_comes_back_changed(qtbot, clinic, tmp_path):
    clinic.add_billable_item("C1", "Standard consultation", "95.00", tax_rate="10")
    page = BillableItemsPage(clinic)
    qtbot.addWidget(page)
    path = tmp_path / "items.csv"
    assert page.export_items(path)
    assert page.message_label.text() == f"Exported 1 item to {path}."
    text = path.read_text(encoding="utf-8-sig").replace("95.00", "99.00")
    path.write_text(text + "MS30,Remedial massage,service,60.00,10,no,Pensioner=50.00\r\n")
    assert page.import_items(path)
    assert "1 added, 1 changed, 0 unchanged" in page.message_label.text()
    assert _rows(page) == ["C1", "MS30"]
    assert page.table.item(0, 3).text() == "99.00"
    # A bad row: the message names it and nothing changes.
    path.write_text(text.replace("99.00", "99.001"))
    assert not page.import_items(path)
    assert "Row 2 (C1)" in page.message_label.text()
    assert clinic.billable_items()[0].price == Decimal("99.00")
