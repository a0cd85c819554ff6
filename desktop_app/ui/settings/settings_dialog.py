"""Settings: General (clinic name, currency), Finances > Invoices (automatic allocation, tax),
Payment types and Printed documents (address, contact line, tax number, footer, logo).
Everything is saved in the clinic's database, so every computer sees the same, and the next
payment dialog uses it at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import MINOR_UNITS, AllocationMode, BillingError, Permission
from desktop_app.ui.settings.billable_items_page import BillableItemsPage
from desktop_app.ui.settings.staff_page import StaffPage
from desktop_app.ui.style import PROBLEM_TONE, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic


PAGES = (
    "General",
    "Finances > Invoices",
    "Payment types",
    "Printed documents",
    "Billable items",
)
STAFF_PAGE = "Staff"
LOGO_PREVIEW_HEIGHT = 64
AUTOMATIC_MODES = (
    AllocationMode.OLDEST_FIRST,
    AllocationMode.NEWEST_FIRST,
    AllocationMode.SOURCE_INVOICE,
)


class SettingsDialog(QDialog):
    """The clinic's settings. OK saves every page; Cancel changes nothing."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None, page: int = 0) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self.setWindowTitle("Settings")
        self.setMinimumSize(640, 380)
        outer = QVBoxLayout(self)
        body = QHBoxLayout()
        self.page_list = QListWidget()
        self.page_list.addItems(list(PAGES))
        self.page_list.setAccessibleName("Settings sections")
        self.page_list.setMaximumWidth(180)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._general_page())
        self.pages.addWidget(self._invoices_page())
        self.pages.addWidget(self._payment_types_page())
        self.pages.addWidget(self._documents_page())
        #: Settings > Billable items (read-only for roles that may not change settings).
        self.billable_items_page = BillableItemsPage(clinic)
        self.pages.addWidget(self.billable_items_page)
        #: Settings > Staff, for whoever may manage staff accounts (None for others).
        self.staff_page: StaffPage | None = None
        if clinic.may(Permission.STAFF):
            self.staff_page = StaffPage(clinic)
            self.page_list.addItem(STAFF_PAGE)
            self.pages.addWidget(self.staff_page)
        self.page_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.page_list.setCurrentRow(page)
        body.addWidget(self.page_list)
        body.addWidget(self.pages, 1)
        outer.addLayout(body, 1)
        self.message_label = QLabel()
        set_tone(self.message_label, PROBLEM_TONE)
        self.message_label.setWordWrap(True)
        outer.addWidget(self.message_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)

    # -- pages ------------------------------------------------------------------------------

    def _general_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.name_edit = QLineEdit(self._clinic.clinic_name)
        self.name_edit.setAccessibleName("Clinic name")
        self.currency_combo = QComboBox()
        self.currency_combo.addItems(sorted(MINOR_UNITS))
        self.currency_combo.setCurrentText(self._clinic.currency)
        self.currency_combo.setAccessibleName("Currency")
        self.currency_combo.setEnabled(self._clinic.currency_can_change)
        form.addRow("Clinic &name:", self.name_edit)
        form.addRow("&Currency:", self.currency_combo)
        profile = self._clinic.clinic_profile()
        self.country_label = QLabel(
            f"{profile.country} (locale {profile.locale or 'of this computer'})"
            if profile.country
            else "Not chosen yet"
        )
        self.country_label.setAccessibleName("Country")
        form.addRow("Country:", self.country_label)
        note = QLabel("The currency can change only before the first invoice or payment.")
        note.setWordWrap(True)
        form.addRow(note)
        return page

    def _invoices_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        mode = self._clinic.allocation_mode
        self.automatic_check = QCheckBox(
            "&Automatically allocate payments and account credit to open invoices"
        )
        self.automatic_check.setChecked(mode is not AllocationMode.OFF)
        layout.addWidget(self.automatic_check)
        self.mode_group = QButtonGroup(page)
        self.mode_buttons: dict[AllocationMode, QRadioButton] = {}
        for choice in AUTOMATIC_MODES:
            button = QRadioButton(choice.label)
            button.setAccessibleName(f"Allocation: {choice.label}")
            self.mode_group.addButton(button)
            self.mode_buttons[choice] = button
            layout.addWidget(button)
        chosen = mode if mode is not AllocationMode.OFF else AllocationMode.OLDEST_FIRST
        self.mode_buttons[chosen].setChecked(True)
        self.automatic_check.toggled.connect(self._on_automatic_check_toggled)
        self._on_automatic_check_toggled(self.automatic_check.isChecked())
        explain = QLabel(
            'When on, the payment dialog fills in "Apply to invoices" from the payment and the '
            "patient's account credit; amounts staff type always win. When off, nothing is filled "
            "in and staff type each amount."
        )
        explain.setWordWrap(True)
        layout.addWidget(explain)
        layout.addLayout(self._tax_form())
        layout.addStretch(1)
        return page

    def _tax_form(self) -> QFormLayout:
        """The sales tax: its name, rate in percent, and whether prices include it."""
        profile = self._clinic.clinic_profile()
        self._tax_shown = (profile.tax_name, f"{profile.tax_rate:f}", profile.prices_include_tax)
        form = QFormLayout()
        form.addRow(QLabel("<b>Sales tax</b> (for the price list)"))
        self.tax_name_edit = QLineEdit(profile.tax_name)
        self.tax_name_edit.setAccessibleName("Tax name")
        self.tax_name_edit.setPlaceholderText("e.g. GST or VAT; empty for none")
        self.tax_rate_edit = QLineEdit(f"{profile.tax_rate:f}")
        self.tax_rate_edit.setAccessibleName("Tax rate in percent")
        self.tax_rate_edit.setMaximumWidth(90)
        self.includes_tax_check = QCheckBox("Prices &include tax")
        self.includes_tax_check.setChecked(profile.prices_include_tax)
        rate_row = QHBoxLayout()
        rate_row.addWidget(self.tax_rate_edit)
        rate_row.addWidget(QLabel("%"))
        rate_row.addStretch(1)
        rate_label = QLabel("Tax rat&e:")
        rate_label.setBuddy(self.tax_rate_edit)
        form.addRow("&Tax name:", self.tax_name_edit)
        form.addRow(rate_label, rate_row)
        form.addRow("", self.includes_tax_check)
        tax_note = QLabel("A change applies to new invoices only: issued invoices keep theirs.")
        tax_note.setWordWrap(True)
        form.addRow("", tax_note)
        return form

    def _payment_types_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.types_list = QListWidget()
        self.types_list.setAccessibleName("Payment types")
        self.types_list.addItems(self._clinic.payment_types())
        layout.addWidget(self.types_list, 1)
        row = QHBoxLayout()
        self.new_type_edit = QLineEdit()
        self.new_type_edit.setPlaceholderText("New payment type, e.g. HICAPS")
        self.new_type_edit.setAccessibleName("New payment type")
        add = QPushButton("A&dd")
        add.clicked.connect(self._on_add_clicked)
        remove = QPushButton("&Remove selected")
        remove.clicked.connect(self._on_remove_clicked)
        row.addWidget(self.new_type_edit, 1)
        row.addWidget(add)
        row.addWidget(remove)
        layout.addLayout(row)
        return page

    def _documents_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        head = self._clinic.letterhead()
        self.address_edit = QPlainTextEdit(head.address)
        self.address_edit.setAccessibleName("Clinic address")
        self.address_edit.setMaximumHeight(80)
        self.contact_edit = QLineEdit(head.contact)
        self.contact_edit.setAccessibleName("Phone and email")
        self.tax_number_edit = QLineEdit(head.tax_number)
        self.tax_number_edit.setAccessibleName("Tax or business number")
        self.tax_number_edit.setPlaceholderText(
            "e.g. ABN 12 345 678 901 (invoices then read Tax invoice)"
        )
        self.footer_edit = QPlainTextEdit(head.footer)
        self.footer_edit.setAccessibleName("Footer")
        self.footer_edit.setPlaceholderText("e.g. how to pay, bank details, a thank-you")
        self.footer_edit.setMaximumHeight(80)
        self.logo_label = QLabel()
        self.logo_label.setAccessibleName("Logo")
        self.logo_bytes: bytes = head.logo or b""
        self._show_logo()
        logo_row = QHBoxLayout()
        choose = QPushButton("C&hoose logo…")
        choose.clicked.connect(self._on_choose_logo_clicked)
        self.remove_logo_button = QPushButton("Remove lo&go")
        self.remove_logo_button.clicked.connect(self._on_remove_logo_clicked)
        logo_row.addWidget(self.logo_label, 1)
        logo_row.addWidget(choose)
        logo_row.addWidget(self.remove_logo_button)
        form.addRow("&Address:", self.address_edit)
        form.addRow("&Phone, email:", self.contact_edit)
        form.addRow("Ta&x number:", self.tax_number_edit)
        form.addRow("&Footer:", self.footer_edit)
        form.addRow("Logo:", logo_row)
        note = QLabel(
            "Printed on invoices, receipts and statements, with the clinic's name. A PNG or JPEG "
            "logo of at most 512 KB."
        )
        note.setWordWrap(True)
        form.addRow(note)
        return page

    def _show_logo(self) -> None:
        image = QImage.fromData(self.logo_bytes) if self.logo_bytes else QImage()
        if image.isNull():
            self.logo_label.setPixmap(QPixmap())
            self.logo_label.setText("No logo" if not self.logo_bytes else "Unreadable image")
        else:
            ratio = self.logo_label.devicePixelRatioF()  # 2 on a 200% screen: as many pixels
            pixmap = QPixmap.fromImage(image).scaledToHeight(
                round(LOGO_PREVIEW_HEIGHT * ratio), Qt.TransformationMode.SmoothTransformation
            )
            pixmap.setDevicePixelRatio(ratio)
            self.logo_label.setPixmap(pixmap)
        if hasattr(self, "remove_logo_button"):
            self.remove_logo_button.setEnabled(bool(self.logo_bytes))

    def choose_logo_path(self) -> Path | None:
        """Ask for the logo's image file (tests replace this)."""
        name, _ = QFileDialog.getOpenFileName(
            self, "Choose logo", "", "Images (*.png *.jpg *.jpeg)"
        )
        return Path(name) if name else None

    def set_logo_file(self, path: Path) -> None:
        """Use the image at ``path`` as the logo (saved with OK; a bad file is refused then)."""
        try:
            self.logo_bytes = Path(path).read_bytes()
        except OSError as exc:
            self.message_label.setText(f"The logo could not be read: {exc.strerror}.")
            return
        self.message_label.setText("")
        self._show_logo()

    def letterhead_texts(self) -> dict[str, str]:
        """The Printed documents page's text fields by setting key."""
        return {
            "clinic_address": self.address_edit.toPlainText(),
            "clinic_contact": self.contact_edit.text(),
            "clinic_tax_number": self.tax_number_edit.text(),
            "document_footer": self.footer_edit.toPlainText(),
        }

    # -- reading the pages ------------------------------------------------------------------

    def chosen_mode(self) -> AllocationMode:
        """The allocation mode the Finances > Invoices page shows."""
        if not self.automatic_check.isChecked():
            return AllocationMode.OFF
        return next(m for m, b in self.mode_buttons.items() if b.isChecked())

    def _types_shown(self) -> list[str]:
        return [self.types_list.item(i).text() for i in range(self.types_list.count())]

    # -- slots ------------------------------------------------------------------------------

    def _on_automatic_check_toggled(self, checked: bool) -> None:
        for button in self.mode_buttons.values():
            button.setEnabled(checked)

    def _on_add_clicked(self) -> None:
        name = self.new_type_edit.text().strip()
        if name and name.lower() not in {t.lower() for t in self._types_shown()}:
            self.types_list.addItem(name)
        self.new_type_edit.clear()

    def _on_choose_logo_clicked(self) -> None:
        path = self.choose_logo_path()
        if path is not None:
            self.set_logo_file(path)

    def _on_remove_logo_clicked(self) -> None:
        self.logo_bytes = b""
        self._show_logo()

    def _on_remove_clicked(self) -> None:
        row = self.types_list.currentRow()
        if row >= 0:
            self.types_list.takeItem(row)

    def _on_buttons_accepted(self) -> None:
        shown, name = self._tax_shown, self.tax_name_edit.text()
        rate, include = self.tax_rate_edit.text(), self.includes_tax_check.isChecked()
        try:  # every page in one save: all of it, or (on a refusal) none of it
            self._clinic.update_settings(
                clinic_name=self.name_edit.text(),
                currency=self.currency_combo.currentText(),
                allocation_mode=self.chosen_mode(),
                payment_types=self._types_shown(),
                letterhead=self.letterhead_texts(),
                logo=self.logo_bytes,
                # the tax only where changed, so a clinic never set up gains no tax entry
                tax_name=None if name == shown[0] else name,
                tax_rate=None if rate == shown[1] else rate,
                prices_include_tax=None if include == shown[2] else include,
            )
        except BillingError as exc:
            self.message_label.setText(str(exc))
            grow_to_fit(self)
            return
        self.accept()
