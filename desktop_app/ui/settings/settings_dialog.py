"""Settings: General (clinic name, currency), Finances > Invoices (automatic allocation, tax),
Payment types (each with the clinic's allocation or its own), Printed documents (address,
contact line, tax number, footer, logo), Billable items, Payers, Email (the mail server and
sender, the emails' templates, reminders and alerts) and Staff.
Everything is saved in the clinic's database, so every computer sees the same, and the next
payment dialog uses it at once (the mail server's password in this computer's keychain). OK
saves the first four pages and what changed on Email; Billable items, Payers and Staff save
each change at once. A role that may not change the settings sees the first four pages and
Email without changing them.
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
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import MINOR_UNITS, AllocationMode, BillingError, Permission
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.settings.billable_items_page import BillableItemsPage
from desktop_app.ui.settings.email_page import EmailPage
from desktop_app.ui.settings.payers_page import PayersPage
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
    "Payers",
    "Email",
)
STAFF_PAGE = "Staff"
LOGO_PREVIEW_HEIGHT = 64
AUTOMATIC_MODES = (
    AllocationMode.OLDEST_FIRST,
    AllocationMode.NEWEST_FIRST,
    AllocationMode.SOURCE_INVOICE,
)
#: What a payment type without a mode of its own follows.
CLINIC_MODE = "Clinic's setting"
#: The data of a list item of the Payment types page: the type's name.
TYPE_NAME = Qt.ItemDataRole.UserRole


class SettingsDialog(QDialog):
    """The clinic's settings. OK saves every page; Cancel changes nothing."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None, page: int = 0) -> None:
        super().__init__(parent)
        self._clinic = clinic
        #: Whether this role may change the settings OK saves (the first four pages).
        self.may_change = clinic.may(Permission.SETTINGS)
        self.setWindowTitle("Settings")
        self.setMinimumSize(640, 380)
        outer = QVBoxLayout(self)
        body = QHBoxLayout()
        self.page_list = QListWidget()
        self.page_list.addItems(list(PAGES))
        self.page_list.setAccessibleName("Settings sections")
        self.page_list.setMaximumWidth(180)
        self.pages = QStackedWidget()
        for made in (
            self._general_page(),
            self._invoices_page(),
            self._payment_types_page(),
            self._documents_page(),
        ):
            made.setEnabled(self.may_change)
            self.pages.addWidget(made)
        #: Settings > Billable items (read-only for roles that may not change settings).
        self.billable_items_page = BillableItemsPage(clinic)
        self.pages.addWidget(self.billable_items_page)
        #: Settings > Payers (read-only for roles that may not change payers).
        shown = getattr(parent, "formatter", None)
        formatter = shown if isinstance(shown, Formatter) else Formatter(clinic.currency)
        self.payers_page = PayersPage(clinic, formatter)
        self.pages.addWidget(self.payers_page)
        #: Settings > Email (read-only for roles that may not change settings).
        self.email_page = EmailPage(clinic, formatter)
        self.pages.addWidget(self.email_page)
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
        #: Each type's own allocation mode as shown (None: the clinic's), by its name.
        self._saved_modes: dict[str, AllocationMode] = self._clinic.payment_type_modes()
        self.type_modes: dict[str, AllocationMode | None] = {}
        self.types_list = QListWidget()
        self.types_list.setAccessibleName("Payment types")
        for name in self._clinic.payment_types():
            self._add_type_item(name, self._saved_modes.get(name))
        self.types_list.currentRowChanged.connect(self._on_type_row_changed)
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
        mode_row = QHBoxLayout()
        self.type_mode_label = QLabel("&Allocation of the selected type:")
        self.type_mode_combo = QComboBox()
        self.type_mode_combo.setAccessibleName("Allocation of the selected payment type")
        self.type_mode_combo.addItem(CLINIC_MODE, "")
        for choice in AllocationMode:
            self.type_mode_combo.addItem(choice.label, choice.value)
        self.type_mode_label.setBuddy(self.type_mode_combo)
        self.type_mode_combo.activated.connect(self._on_type_mode_activated)
        mode_row.addWidget(self.type_mode_label)
        mode_row.addWidget(self.type_mode_combo, 1)
        layout.addLayout(mode_row)
        explain = QLabel(
            "A payment type may allocate its money its own way, whatever the clinic's setting "
            "(Finances > Invoices): a health fund's payments only to the invoice being paid, "
            "say. A payment that mixes it with a type without one follows the clinic's setting."
        )
        explain.setWordWrap(True)
        layout.addWidget(explain)
        self._on_type_row_changed(self.types_list.currentRow())
        return page

    def _add_type_item(self, name: str, mode: AllocationMode | None) -> None:
        """A row of the payment types list: the name, and its own allocation when it has one."""
        item = QListWidgetItem()
        item.setData(TYPE_NAME, name)
        self.types_list.addItem(item)
        self._set_type_mode(item, mode)

    def _set_type_mode(self, item: QListWidgetItem, mode: AllocationMode | None) -> None:
        name = str(item.data(TYPE_NAME))
        self.type_modes[name] = mode
        item.setText(name if mode is None else f"{name}  ({mode.label.lower()})")

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
        items = (self.types_list.item(row) for row in range(self.types_list.count()))
        return [str(item.data(TYPE_NAME)) for item in items]

    def type_mode(self, name: str) -> AllocationMode | None:
        """The allocation mode the Payment types page shows for ``name`` (None: the clinic's)."""
        return self.type_modes.get(name)

    def set_type_mode(self, name: str, mode: AllocationMode | None) -> None:
        """Give the listed payment type ``name`` its own mode (None: the clinic's), saved by OK."""
        for row in range(self.types_list.count()):
            item = self.types_list.item(row)
            if item.data(TYPE_NAME) == name:
                self._set_type_mode(item, mode)
                if row == self.types_list.currentRow():
                    self._on_type_row_changed(row)
                return
        raise KeyError(name)

    # -- slots ------------------------------------------------------------------------------

    def _on_automatic_check_toggled(self, checked: bool) -> None:
        for button in self.mode_buttons.values():
            button.setEnabled(checked)

    def _on_add_clicked(self) -> None:
        name = self.new_type_edit.text().strip()
        if name and name.lower() not in {t.lower() for t in self._types_shown()}:
            self._add_type_item(name, None)
        self.new_type_edit.clear()

    def _on_type_row_changed(self, row: int) -> None:
        item = self.types_list.item(row) if row >= 0 else None
        self.type_mode_combo.setEnabled(item is not None)
        self.type_mode_label.setEnabled(item is not None)
        mode = None if item is None else self.type_modes.get(str(item.data(TYPE_NAME)))
        self.type_mode_combo.setCurrentIndex(
            max(0, self.type_mode_combo.findData("" if mode is None else mode.value))
        )

    def _on_type_mode_activated(self, index: int) -> None:
        item = self.types_list.currentItem()
        if item is not None:
            value = self.type_mode_combo.itemData(index)
            self._set_type_mode(item, AllocationMode(value) if value else None)

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
        if not self.may_change:  # nothing here to save: the other pages saved as they went
            self.accept()
            return
        if not self.email_page.save():  # refused: the Email page shows where, nothing else saved
            self.page_list.setCurrentRow(PAGES.index("Email"))
            return
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
        if not self._save_type_modes():
            return
        self.accept()

    def done(self, result: int) -> None:
        """Close (OK or Cancel); a test email on its way is let go (it ends on its own)."""
        self.email_page.stop()
        super().done(result)

    def _save_type_modes(self) -> bool:
        """Give each listed payment type the allocation mode the page shows, where it changed;
        False (and the refusal shown) when the core refused one."""
        # The name as the clinic keeps it: a type removed and added again under another
        # spelling keeps its first one.
        stored = {n.lower(): n for n in self._clinic.payment_types(include_inactive=True)}
        try:
            for name in self._types_shown():
                mode = self.type_modes.get(name)
                kept = stored.get(name.lower(), name)
                if mode != self._saved_modes.get(kept):
                    self._clinic.set_payment_type_mode(kept, mode)
                    if mode is None:
                        self._saved_modes.pop(kept, None)
                    else:
                        self._saved_modes[kept] = mode
        except BillingError as exc:
            self.message_label.setText(
                f"The other settings were saved, but not the payment types' allocation: {exc}"
            )
            grow_to_fit(self)
            return False
        return True
