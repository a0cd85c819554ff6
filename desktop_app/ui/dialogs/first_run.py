"""The first run's "About your clinic" window: the clinic's name, country, currency and tax.

Shown once, when the app opens a clinic that was never set up (no answers saved, no invoice or
payment), before the administrator's account is made. Choosing a country fills in its currency,
locale, tax name and rate and whether prices include tax; each stays editable. Save keeps every
answer in one change (the core checks them); Cancel keeps nothing, so the next start asks again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QLocale
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import COUNTRIES, MINOR_UNITS, BillingError, region_for
from desktop_app.ui.style import HINT_TONE, PROBLEM_TONE, set_tone
from desktop_app.ui.window_fit import grow_to_fit

if TYPE_CHECKING:
    from desktop_app.core import Clinic, ClinicProfile


def guess_country(locale_name: str) -> str:
    """The listed country of a locale such as ``en_NZ`` (Australia if none is listed)."""
    for country in COUNTRIES:
        region = region_for(country)
        if region is not None and region.locale.split("_")[-1] == locale_name.split("_")[-1]:
            return country
    return COUNTRIES[0]


class ClinicSetupDialog(QDialog):
    """About your clinic: its name, country, currency, locale and tax; Save keeps them all."""

    def __init__(self, clinic: Clinic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._clinic = clinic
        #: The answers as saved (set once Save succeeds).
        self.profile: ClinicProfile | None = None
        self.setWindowTitle("About your clinic")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Welcome to Clinic Ledger. Tell it about your clinic: the country proposes the "
            "currency and the sales tax, and you can change each."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        saved = clinic.clinic_profile()
        self.name_edit = QLineEdit("" if saved.clinic_name == "My Clinic" else saved.clinic_name)
        self.name_edit.setAccessibleName("Clinic name")
        self.name_edit.setPlaceholderText("As printed on invoices, e.g. Harbour Physiotherapy")
        self.country_combo = QComboBox()
        self.country_combo.addItems(list(COUNTRIES))
        self.country_combo.setAccessibleName("Country")
        self.currency_combo = QComboBox()
        self.currency_combo.addItems(sorted(MINOR_UNITS))
        self.currency_combo.setAccessibleName("Currency")
        self.locale_edit = QLineEdit()
        self.locale_edit.setAccessibleName("Locale")
        self.locale_edit.setPlaceholderText("e.g. en_NZ")
        self.tax_name_edit = QLineEdit()
        self.tax_name_edit.setAccessibleName("Tax name")
        self.tax_name_edit.setPlaceholderText("e.g. GST or VAT; empty for none")
        self.tax_rate_edit = QLineEdit()
        self.tax_rate_edit.setAccessibleName("Tax rate in percent")
        self.tax_rate_edit.setMaximumWidth(90)
        rate_row = QHBoxLayout()
        rate_row.addWidget(self.tax_rate_edit)
        rate_row.addWidget(QLabel("%"))
        rate_row.addStretch(1)
        self.includes_tax_check = QCheckBox("&Prices include tax")
        form.addRow("Clinic &name:", self.name_edit)
        form.addRow("C&ountry:", self.country_combo)
        form.addRow("C&urrency:", self.currency_combo)
        form.addRow("&Locale:", self.locale_edit)
        form.addRow("&Tax name:", self.tax_name_edit)
        rate_label = QLabel("Tax &rate:")
        rate_label.setBuddy(self.tax_rate_edit)
        form.addRow(rate_label, rate_row)
        form.addRow("", self.includes_tax_check)
        layout.addLayout(form)
        note = QLabel(
            "The currency can change only until the first invoice or payment; the rest can be "
            "changed later in File > Settings."
        )
        note.setWordWrap(True)
        set_tone(note, HINT_TONE)
        layout.addWidget(note)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        set_tone(self.message_label, PROBLEM_TONE)
        layout.addWidget(self.message_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText("&Save and continue")
        self.save_button.setDefault(True)
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.country_combo.currentTextChanged.connect(self._on_country_combo_changed)
        country = saved.country or guess_country(QLocale.system().name())
        self.country_combo.setCurrentText(country)
        self._on_country_combo_changed(country)
        self.name_edit.setFocus()

    # -- slots ------------------------------------------------------------------------------

    def _on_country_combo_changed(self, country: str) -> None:
        """Fill in what the country proposes; "Other" leaves the answers to the person."""
        region = region_for(country)
        if region is None:  # Other: keep what is shown, for the person to change
            self.currency_combo.setFocus()
            return
        self.currency_combo.setCurrentText(region.currency)
        self.locale_edit.setText(region.locale)
        self.tax_name_edit.setText(region.tax_name)
        self.tax_rate_edit.setText(f"{region.tax_rate:f}")
        self.includes_tax_check.setChecked(region.prices_include_tax)

    def save(self) -> bool:
        """Save every answer; True (and the window closes) when it worked, else the reason."""
        try:
            self.profile = self._clinic.set_up_clinic(
                clinic_name=self.name_edit.text(),
                country=self.country_combo.currentText(),
                currency=self.currency_combo.currentText(),
                locale=self.locale_edit.text(),
                tax_name=self.tax_name_edit.text(),
                tax_rate=self.tax_rate_edit.text(),
                prices_include_tax=self.includes_tax_check.isChecked(),
            )
        except BillingError as exc:
            self.message_label.setText(str(exc))
            grow_to_fit(self)
            field = {
                "clinic_name": self.name_edit,
                "country": self.country_combo,
                "currency": self.currency_combo,
                "locale": self.locale_edit,
                "tax_name": self.tax_name_edit,
                "tax_rate": self.tax_rate_edit,
            }.get(exc.field or "")
            if field is not None:
                field.setFocus()
            return False
        self.accept()
        return True
