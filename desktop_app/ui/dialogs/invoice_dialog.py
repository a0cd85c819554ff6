"""New invoice, and the correction of a draft or of an issued invoice before it is paid.

Lines come from the catalogue (type a code or part of a name in "Add item") or are typed by
hand: description, quantity (0.5 is half an hour), unit price, discount (an amount, or a
percentage such as "10%") and tax %. The invoice names a practitioner (the patient's by
default) and a service date. Line arithmetic comes from the core
(:func:`desktop_app.core.parse_lines`, on the invoice's tax basis), so the totals shown are the
totals saved; the core recomputes everything when it saves.

"Who pays" (:mod:`desktop_app.ui.dialogs.bill_to`) bills the patient or one of their payers, with
the payer's claim reference, or splits the visit between the payer and the patient in one step
(two linked invoices, issued together; a split is never a draft). Correcting an invoice can bill
it to someone else (the patient, when a payer declines the claim) and change the claim; the
core refuses that for one of a split pair, naming why.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import BillingError, PermissionDenied, parse_lines, to_decimal
from desktop_app.ui.dialogs.bill_to import BillToBox
from desktop_app.ui.formatting import Formatter
from desktop_app.ui.forms import GuardedDialog, pydate, qdate, set_date_format
from desktop_app.ui.style import PROBLEM_TONE, set_tone

DESCRIPTION, QUANTITY, PRICE, DISCOUNT, TAX, AMOUNT = range(6)
HEADERS = ("Description", "Qty", "Unit price", "Discount", "Tax %", "Amount")
PAYMENT_TERMS_DAYS = 14
NO_PRACTITIONER = "No practitioner"
#: Where a line keeps the id of the catalogue item it came from (on its description cell).
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1


if TYPE_CHECKING:
    from desktop_app.core import BillableItemRecord, Clinic, InvoiceRecord


class InvoiceDialog(GuardedDialog):
    """Writes a new invoice to one patient, or corrects ``invoice`` (a draft, or an issued
    invoice nothing touches yet). ``invoice_id`` holds the id after saving (of a split visit,
    the patient's gap, or the payer's invoice when the patient pays nothing); ``split_ids`` the
    payer's and the patient's invoice of a split visit; ``pay_now`` is True when staff chose
    "Issue and enter payment"; ``deleted`` when they deleted the draft."""

    discard_question = "Discard this invoice?"

    def __init__(
        self,
        clinic: Clinic,
        formatter: Formatter,
        patient_id: int,
        patient_name: str,
        parent: QWidget | None = None,
        invoice: InvoiceRecord | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic = clinic
        self._formatter = formatter
        self._currency = clinic.currency
        self._patient_id = patient_id
        self._invoice = invoice
        self.invoice_id: int | None = None if invoice is None else invoice.id
        self.split_ids: tuple[int | None, int | None] | None = None
        self.pay_now = False
        self.deleted = False
        self._inclusive = clinic.prices_include_tax if invoice is None else invoice.tax_inclusive
        self._tax_name = clinic.clinic_profile().tax_name or "tax"
        self._concession = clinic.patient(patient_id).concession
        self._items: list[BillableItemRecord] = clinic.billable_items()
        if invoice is None:
            self.setWindowTitle(f"New invoice: {patient_name}")
        elif invoice.is_draft:
            self.setWindowTitle(f"Draft invoice: {patient_name}")
        else:
            self.setWindowTitle(f"Correct invoice #{invoice.number}: {patient_name}")
        self.setMinimumSize(760, 540)
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_header())
        self.bill_to = BillToBox(
            clinic,
            formatter,
            patient_id,
            patient_name,
            pydate(self.service_edit.date()),
            invoice,
        )
        self.bill_to.changed.connect(self._on_bill_to_changed)
        layout.addWidget(self.bill_to)
        layout.addLayout(self._build_picker())

        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setAccessibleName("Invoice lines")
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setToolTip("The catalogue item's code, or the line's number")
        self.table.horizontalHeader().setSectionResizeMode(
            DESCRIPTION, QHeaderView.ResizeMode.Stretch
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemChanged.connect(self._on_table_item_changed)
        layout.addWidget(self.table, 1)

        row_buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add line")
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button = QPushButton("&Remove line")
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        row_buttons.addWidget(self.add_button)
        row_buttons.addWidget(self.remove_button)
        row_buttons.addStretch(1)
        totals = QVBoxLayout()
        self.total_label = QLabel()
        self.total_label.setAccessibleName("Invoice totals")
        self.total_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        totals.addWidget(self.total_label)
        self.basis_label = QLabel(
            f"Prices include {self._tax_name}"
            if self._inclusive
            else f"{self._tax_name} is added to the prices"
        )
        self.basis_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        totals.addWidget(self.basis_label)
        row_buttons.addLayout(totals)
        layout.addLayout(row_buttons)

        self.message_label = QLabel()
        set_tone(self.message_label, PROBLEM_TONE)
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        layout.addWidget(self._build_buttons())
        self._touched = False  # no refusal is shown before the person has done something
        if invoice is None:
            self.add_line()
        else:
            self._load(invoice)
        self.picker.setFocus() if invoice is None and self._items else self.table.setFocus()

    # -- building ---------------------------------------------------------------------------

    def _build_header(self) -> QHBoxLayout:
        today = date.today()
        invoice = self._invoice
        issue = today if invoice is None else invoice.issue_date
        due = issue + timedelta(days=PAYMENT_TERMS_DAYS)
        if invoice is not None:
            due = invoice.due_date or due
        self.issue_edit = QDateEdit(qdate(issue))
        self.due_edit = QDateEdit(qdate(due))
        service = today if invoice is None else (invoice.service_date or invoice.issue_date)
        self.service_edit = QDateEdit(qdate(service))
        for edit, name in (
            (self.issue_edit, "Issue date"),
            (self.due_edit, "Due date"),
            (self.service_edit, "Service date"),
        ):
            edit.setCalendarPopup(True)
            set_date_format(edit)
            edit.setAccessibleName(name)
        self.practitioner_combo = QComboBox()
        self.practitioner_combo.setAccessibleName("Practitioner")
        self.practitioner_combo.addItem(NO_PRACTITIONER, None)
        for member in self._clinic.practitioners():
            self.practitioner_combo.addItem(member.full_name, member.id)
        if invoice is None:
            username = self._clinic.patient_practitioner(self._patient_id)
            chosen = next(
                (m.id for m in self._clinic.practitioners() if m.username == username), None
            )
        else:
            chosen = invoice.practitioner_id
            if chosen is not None and self.practitioner_combo.findData(chosen) < 0:
                self.practitioner_combo.addItem("(a practitioner who has left)", chosen)
        self.practitioner_combo.setCurrentIndex(max(self.practitioner_combo.findData(chosen), 0))
        left, right = QFormLayout(), QFormLayout()
        left.addRow("Issue dat&e:", self.issue_edit)
        left.addRow("D&ue date:", self.due_edit)
        right.addRow("Practitio&ner:", self.practitioner_combo)
        right.addRow("Ser&vice date:", self.service_edit)
        row = QHBoxLayout()
        row.addLayout(left)
        row.addSpacing(24)
        row.addLayout(right)
        row.addStretch(1)
        return row

    def _build_picker(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.picker = QLineEdit()
        self.picker.setAccessibleName("Add item")
        self.picker.setPlaceholderText("Type a code or part of a name, then Enter")
        self._choices = [f"{item.code}  {item.name}" for item in self._items]
        self.completer = QCompleter(QStringListModel(self._choices, self), self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setMaxVisibleItems(12)
        self.picker.setCompleter(self.completer)
        self.completer.activated.connect(self._on_completer_activated)
        self.picker.returnPressed.connect(self._on_picker_return_pressed)
        label = QLabel("Add i&tem:")
        label.setBuddy(self.picker)
        row.addWidget(label)
        row.addWidget(self.picker, 1)
        if not self._items:
            self.picker.setEnabled(False)
            self.picker.setPlaceholderText("No billable items yet (Settings > Billable items)")
        return row

    def _build_buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox()
        invoice = self._invoice
        issued = invoice is not None and not invoice.is_draft
        role = QDialogButtonBox.ButtonRole
        self.save_button = buttons.addButton(
            "&Save changes" if issued else "&Issue", role.AcceptRole
        )
        self.pay_button = buttons.addButton("Issue and enter &payment", role.ActionRole)
        self.draft_button = buttons.addButton("Save as &draft", role.ActionRole)
        self.delete_button = buttons.addButton("De&lete draft", role.DestructiveRole)
        self.pay_button.setVisible(not issued)
        self.draft_button.setVisible(not issued)
        self.delete_button.setVisible(invoice is not None and invoice.is_draft)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.pay_button.clicked.connect(self._on_pay_button_clicked)
        self.draft_button.clicked.connect(self._on_draft_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        buttons.rejected.connect(self.reject)
        return buttons

    def _load(self, invoice: InvoiceRecord) -> None:
        for line in invoice.lines:
            discount = (
                f"{line.discount_percent.normalize():f}%"
                if line.discount_percent is not None
                else (str(line.discount) if line.discount else "")
            )
            self.add_line(
                line.description,
                f"{line.quantity.normalize():f}",
                str(line.unit_price),
                f"{line.tax_rate.normalize():f}" if line.tax_rate else "",
                discount=discount,
                item_id=line.item_id,
                code=line.item_code,
            )

    # -- lines ------------------------------------------------------------------------------

    def add_line(
        self,
        description: str = "",
        quantity: str = "1",
        price: str = "",
        tax: str = "",
        *,
        discount: str = "",
        item_id: int | None = None,
        code: str | None = None,
    ) -> None:
        """Append a line (the window's Add line button; also used to prefill)."""
        self.table.blockSignals(True)
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in (
            (DESCRIPTION, description),
            (QUANTITY, quantity),
            (PRICE, price),
            (DISCOUNT, discount),
            (TAX, tax),
        ):
            item = QTableWidgetItem(text)
            if column != DESCRIPTION:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        described = self.table.item(row, DESCRIPTION)
        if described is not None:
            described.setData(ITEM_ROLE, item_id)
        self.table.setVerticalHeaderItem(row, QTableWidgetItem(code or str(row + 1)))
        amount = QTableWidgetItem("")
        amount.setFlags(amount.flags() & ~Qt.ItemFlag.ItemIsEditable)
        amount.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, AMOUNT, amount)
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, DESCRIPTION)
        self._recalculate()

    def add_item(self, item: BillableItemRecord) -> None:
        """Add a line for a catalogue item at the patient's price (their concession's, if the
        item has one), filling a blank last line rather than adding below it."""
        last = self.table.rowCount() - 1
        if last >= 0 and last not in self._filled_rows():
            self.table.removeRow(last)
        self.add_line(
            item.name,
            "1",
            str(item.price_for(self._concession)),
            f"{item.tax_rate.normalize():f}" if item.tax_rate else "",
            item_id=item.id,
            code=item.code,
        )
        self.table.setCurrentCell(self.table.rowCount() - 1, QUANTITY)

    def pick(self, text: str) -> bool:
        """Add the item whose code is ``text``, or the one item whose code or name holds it
        (what typing in Add item and pressing Enter does); False when none or several match."""
        wanted = text.strip().casefold()
        if not wanted:
            return False
        exact = [i for i in self._items if i.code.casefold() == wanted]
        found = exact or [
            i
            for i, choice in zip(self._items, self._choices, strict=True)
            if wanted in choice.casefold()
        ]
        if len(found) != 1:
            self.message_label.setText(
                f"No billable item matches {text.strip()!r}."
                if not found
                else f"{len(found)} billable items match {text.strip()!r}: type more of it."
            )
            return False
        self._touched = True
        self.add_item(found[0])
        self.picker.clear()
        return True

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def _item_of(self, row: int) -> int | None:
        item = self.table.item(row, DESCRIPTION)
        value = item.data(ITEM_ROLE) if item is not None else None
        return value if isinstance(value, int) else None

    def _filled_rows(self) -> list[int]:
        """Rows with a description or a price (blank rows are ignored)."""
        return [
            row
            for row in range(self.table.rowCount())
            if self._cell(row, DESCRIPTION) or self._cell(row, PRICE)
        ]

    def _lines(self, *, with_items: bool = True) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for r in self._filled_rows():
            line: dict[str, Any] = {
                "description": self._cell(r, DESCRIPTION),
                "price": self._cell(r, PRICE),
                "quantity": self._cell(r, QUANTITY),
                "tax_rate": self._cell(r, TAX) or "0",
            }
            if self._cell(r, DISCOUNT):
                line["discount"] = self._cell(r, DISCOUNT)
            if with_items and self._item_of(r) is not None:
                line["item"] = self._item_of(r)
            lines.append(line)
        return lines

    def _set_amount(self, row: int, text: str) -> None:
        item = self.table.item(row, AMOUNT)
        if item is not None:
            item.setText(text)

    def _recalculate(self) -> bool:
        """Update line amounts and the totals; returns whether the invoice can be saved."""
        self.table.blockSignals(True)
        try:
            parsed = parse_lines(
                self._lines(with_items=False), self._currency, tax_inclusive=self._inclusive
            )
        except BillingError as exc:
            self.message_label.setText(str(exc) if self._touched else "")
            self.total_label.setText("Total: —")
            for row in range(self.table.rowCount()):
                self._set_amount(row, "")
            self.table.blockSignals(False)
            self.bill_to.set_total(None)
            for button in (self.save_button, self.pay_button, self.draft_button):
                button.setEnabled(False)
            return False
        for row, line in zip(self._filled_rows(), parsed, strict=True):
            self._set_amount(
                row, self._formatter.money(to_decimal(line.amount_minor, self._currency))
            )
        total = sum(line.amount_minor for line in parsed)
        tax = sum(line.tax_minor for line in parsed)
        money = self._formatter.money

        def shown(minor: int) -> str:
            return money(to_decimal(minor, self._currency))

        self.total_label.setText(
            f"Net: {shown(total - tax)}    Tax: {shown(tax)}    Total: {shown(total)}"
        )
        self.message_label.setText("")
        self.table.blockSignals(False)
        self.bill_to.set_total(total)
        split_refused = self.bill_to.problem
        for button in (self.save_button, self.pay_button):
            button.setEnabled(split_refused is None)
        self.draft_button.setEnabled(not self.bill_to.split)
        self.draft_button.setToolTip(
            "A split visit is issued at once: clear Split to save a draft."
            if self.bill_to.split
            else ""
        )
        return split_refused is None

    # -- saving -----------------------------------------------------------------------------

    def _practitioner(self) -> int | None:
        value = self.practitioner_combo.currentData()
        return value if isinstance(value, int) else None

    def _save(self, *, draft: bool = False) -> bool:
        """Save the invoice: a new one (issued, or a draft), the draft's changes (and issue it
        unless ``draft``), or the issued invoice's correction."""
        self._touched = True
        if not self._recalculate():
            return False
        issue = pydate(self.issue_edit.date())
        due = pydate(self.due_edit.date())
        service = pydate(self.service_edit.date())
        payer = self.bill_to.payer
        try:
            if self.invoice_id is None and self.bill_to.split and payer is not None:
                self.split_ids = self._clinic.create_split_invoice(
                    self._patient_id,
                    self._lines(),
                    payer=payer.id,
                    payer_share=self.bill_to.share,
                    claim_reference=self.bill_to.claim_reference,
                    issue_date=issue,
                    due_date=due,
                    practitioner_id=self._practitioner(),
                    service_date=service,
                )
                payer_invoice, gap = self.split_ids
                self.invoice_id = gap if gap is not None else payer_invoice
                return True
            if self.invoice_id is None:
                self.invoice_id = self._clinic.create_invoice(
                    self._patient_id,
                    self._lines(),
                    issue_date=issue,
                    due_date=due,
                    practitioner_id=self._practitioner(),
                    service_date=service,
                    draft=draft,
                    bill_to=None if payer is None else payer.id,
                    claim_reference=self.bill_to.claim_reference,
                )
                return True
            self._clinic.update_invoice(
                self.invoice_id,
                lines=self._lines(),
                issue_date=issue,
                due_date=due,
                practitioner_id=self._practitioner(),
                service_date=service,
                bill_to=None if payer is None else payer.id,
                claim_reference=self.bill_to.claim_reference,
            )
            if self._invoice is not None and self._invoice.is_draft and not draft:
                self._clinic.issue_invoice(self.invoice_id, issue_date=issue)
        except BillingError as exc:
            self.bill_to.refused(exc)
            self.message_label.setText(str(exc))
            return False
        except PermissionDenied as exc:
            self.message_label.setText(str(exc))
            return False
        return True

    def delete_draft(self) -> bool:
        """Delete the draft shown (after asking); True when it is gone."""
        if self.invoice_id is None:
            return False
        asked = QMessageBox.question(
            self,
            "Delete draft",
            "Delete this draft invoice? It was never issued: no number or balance changes.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if asked != QMessageBox.StandardButton.Yes:
            return False
        try:
            self._clinic.delete_draft(self.invoice_id)
        except (BillingError, PermissionDenied) as exc:
            self.message_label.setText(str(exc))
            return False
        self.deleted = True
        return True

    # -- slots ------------------------------------------------------------------------------

    def _on_table_item_changed(self, _item: QTableWidgetItem) -> None:
        self._touched = True
        self._recalculate()

    def _on_bill_to_changed(self) -> None:
        self._recalculate()

    def _on_completer_activated(self, text: str) -> None:
        self.pick(text.split("  ", 1)[0])

    def _on_picker_return_pressed(self) -> None:
        if self.picker.text().strip():
            self.pick(self.picker.text().split("  ", 1)[0])

    def _on_add_button_clicked(self) -> None:
        self._touched = True
        self.add_line()
        self.table.setFocus()

    def _on_remove_button_clicked(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self._touched = True
            self.table.removeRow(row)
            self._recalculate()

    def _on_save_button_clicked(self) -> None:
        if self._save():
            self.accept()

    def _on_pay_button_clicked(self) -> None:
        if self._save():
            self.pay_now = True
            self.accept()

    def _on_draft_button_clicked(self) -> None:
        if self._save(draft=True):
            self.accept()

    def _on_delete_button_clicked(self) -> None:
        if self.delete_draft():
            self.accept()
