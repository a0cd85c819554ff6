"""Printed documents laid out as the HTML subset Qt's ``QTextDocument`` renders.

Every figure comes from the core's document records; this module only arranges and formats them
(money and dates in the computer's locale). All text from the database is escaped. The logo is
referenced as :data:`LOGO_URL`; the renderer adds the image under that name.

Documents for a third-party payer (an invoice billed to it, a remittance's receipt, its
statement) are addressed to the payer and name the patient of each invoice; a patient's
statement lists what was billed to their payers under "Billed to <payer>", apart from their own
balance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from desktop_app.ui.formatting import Formatter

if TYPE_CHECKING:
    from desktop_app.core import (
        InvoiceDocument,
        InvoiceLineRecord,
        Letterhead,
        PayerBilledInvoice,
        PayerStatementDocument,
        ReceiptDocument,
        StatementDocument,
    )

LOGO_URL = "clinic-logo"
LOGO_HEIGHT = 64
#: The anchor on the address block's first line: the renderer moves that block into the
#: envelope window of the paper printed on (render.place_recipient).
RECIPIENT_ANCHOR = "recipient"

STYLE = """
body { font-family: sans-serif; font-size: 9pt; color: #111; }
h1 { font-size: 16pt; margin: 0; }
.muted { color: #555; }
.void { color: #b00020; font-weight: bold; }
table.items { border-collapse: collapse; margin-top: 8px; }
table.items th { background-color: #e8eef3; text-align: left; padding: 4px; }
table.items td { padding: 4px; border-bottom: 1px solid #ccc; }
td.num, th.num { text-align: right; }
table.totals td { padding: 2px 4px; }
.strong { font-weight: bold; }
.extra { margin-top: 8px; }
.patient { margin-top: 8px; }
"""


def _text(value: str) -> str:
    """Escaped text with line breaks kept."""
    return "<br>".join(escape(line) for line in value.splitlines())


def _row(cells: Iterable[str], numeric: Sequence[int]) -> str:
    """One table row, amounts right-aligned."""
    parts = []
    for i, cell in enumerate(cells):
        css = ' class="num" align="right"' if i in numeric else ""
        parts.append(f"<td{css}>{cell}</td>")
    return "<tr>" + "".join(parts) + "</tr>"


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Sequence[int],
    widths: Sequence[int],
) -> str:
    """A table with a header row and column widths in percent of the page (Qt's table layout
    does not size columns to their content, so every table says how wide each column is)."""
    body = "".join(_row(r, numeric) for r in rows)
    head = []
    for i, (h, width) in enumerate(zip(header, widths, strict=True)):
        css = ' class="num" align="right"' if i in numeric else ""
        head.append(f'<th{css} width="{width}%">{escape(h)}</th>')
    return (
        '<table class="items" width="100%" cellspacing="0">'
        + "<tr>"
        + "".join(head)
        + "</tr>"
        + body
        + "</table>"
    )


def _totals(pairs: Iterable[tuple[str, str]], strong: Sequence[str] = ()) -> str:
    rows = []
    for label, value in pairs:
        css = ' class="strong"' if label in strong else ""
        cells = f'<td{css}>{escape(label)}</td><td class="num" align="right"{css}>'
        rows.append(f"<tr>{cells}{escape(value)}</td></tr>")
    inner = '<table class="totals" width="100%" cellspacing="0">' + "".join(rows) + "</table>"
    return (  # a right-hand column: Qt's align="right" tables can run past the margin
        '<table width="100%" cellspacing="0"><tr><td width="50%"></td>'
        f"<td>{inner}</td></tr></table>"
    )


def _clinic_details(letterhead: Letterhead) -> list[str]:
    """The clinic's address, contact line and tax number, each on its own lines."""
    return [
        f'<span class="muted">{_text(part)}</span>'
        for part in (letterhead.address, letterhead.contact, letterhead.tax_number)
        if part
    ]


def _head(
    letterhead: Letterhead,
    title: str,
    facts: Sequence[tuple[str, str]],
    details: bool = True,
) -> str:
    """The letterhead (left) and the document's title and facts (right). ``details`` False
    leaves the clinic's address lines out (they print beside the address block instead, so the
    head stays above an envelope's window)."""
    clinic = []
    if letterhead.logo is not None:
        clinic.append(f'<img src="{LOGO_URL}" height="{LOGO_HEIGHT}"><br>')
    clinic.append(
        f'<span style="font-size:13pt; font-weight:bold">{escape(letterhead.name)}</span>'
    )
    if details:
        clinic.extend(f"<br>{part}" for part in _clinic_details(letterhead))
    right = [f"<h1>{title}</h1>"]
    right.extend(f"{escape(label)}: <b>{escape(value)}</b><br>" for label, value in facts)
    return (
        '<table width="100%" cellspacing="0"><tr>'
        f'<td valign="top">{"".join(clinic)}</td>'
        f'<td valign="top" align="right">{"".join(right)}</td>'
        "</tr></table><hr>"
    )


def _window(recipient: Sequence[str], letterhead: Letterhead, extra: str = "") -> str:
    """The address block (left, where the renderer puts an envelope's window) and beside it the
    clinic's address lines and ``extra`` (HTML). The address lines are escaped; more than six
    print smaller to fit the window."""
    size = 9 if len(recipient) <= 6 else 8
    lines = "<br>".join(escape(line) for line in recipient)
    beside = "<br>".join(_clinic_details(letterhead)) + extra
    return (
        '<table class="window" width="100%" cellspacing="0" cellpadding="0"><tr>'
        f'<td width="48%" valign="top" style="font-size:{size}pt">'
        f'<a name="{RECIPIENT_ANCHOR}"></a>{lines}</td>'
        f'<td valign="top">{beside}</td>'
        "</tr></table>"
    )


def _extra(text: str) -> str:
    """The patient's extra information for invoices, labelled, its line breaks kept."""
    if not text.strip():
        return ""
    return f'<p class="extra"><b>Extra information</b><br>{_text(text)}</p>'


def _foot(letterhead: Letterhead) -> str:
    if not letterhead.footer:
        return ""
    return f'<hr><p class="muted">{_text(letterhead.footer)}</p>'


def _page(body: str) -> str:
    return f"<html><head><style>{STYLE}</style></head><body>{body}</body></html>"


def _quantity(value: Decimal) -> str:
    """A quantity as people write it: ``1``, ``0.5``, ``1.25`` (never ``1.00`` or ``1E+1``)."""
    return f"{value.normalize():f}"


def _rate(value: Decimal) -> str:
    """A tax rate as a percentage: ``10%``, ``12.5%``."""
    return f"{value.normalize():f}%"


def invoice_lines_table(document: InvoiceDocument, money: Callable[[Decimal], str]) -> str:
    """The invoice's lines. The item code and discount columns are there only when a line has
    one. Prices that include tax show each line's total with the tax it includes; otherwise the
    tax is added on top (with the line's net shown when a discount makes it differ from quantity
    times price)."""
    invoice = document.invoice
    lines = invoice.lines
    label = document.tax_label
    codes = any(ln.item_code for ln in lines)
    discounts = any(ln.discount for ln in lines)
    net = discounts and not invoice.tax_inclusive
    columns: list[tuple[str, int, bool, Callable[[InvoiceLineRecord], str]]] = []
    if codes:
        columns.append(("Code", 9, False, lambda ln: escape(ln.item_code or "")))
    columns.append(("Description", 0, False, lambda ln: _text(ln.description)))
    columns.append(("Qty", 6, True, lambda ln: escape(_quantity(ln.quantity))))
    columns.append(("Unit price", 12, True, lambda ln: escape(money(ln.unit_price))))
    if discounts:
        columns.append(("Discount", 13, True, lambda ln: _discount(ln, money)))
    if net:
        columns.append(("Net", 12, True, lambda ln: escape(money(ln.net))))
    tax_head = f"{label} included" if invoice.tax_inclusive else label
    columns.append((tax_head, 14, True, lambda ln: _line_tax(ln, money)))
    columns.append(("Total", 13, True, lambda ln: escape(money(ln.total))))
    widths = [width for _, width, _, _ in columns]
    widths[widths.index(0)] = 100 - sum(widths)
    return _table(
        [head for head, _, _, _ in columns],
        ([cell(ln) for _, _, _, cell in columns] for ln in lines),
        [i for i, (_, _, numeric, _) in enumerate(columns) if numeric],
        widths,
    )


def _discount(line: InvoiceLineRecord, money: Callable[[Decimal], str]) -> str:
    """A line's discount in money, with the percentage it was typed as (empty: none)."""
    if not line.discount:
        return ""
    text = escape(money(line.discount))
    if line.discount_percent is not None:
        text += f'<br><span class="muted">{escape(_rate(line.discount_percent))}</span>'
    return text


def _line_tax(line: InvoiceLineRecord, money: Callable[[Decimal], str]) -> str:
    """A line's tax and its rate (empty for a line without tax)."""
    if not line.tax:
        return ""
    return f'{escape(money(line.tax))}<br><span class="muted">{escape(_rate(line.tax_rate))}</span>'


def invoice_totals(
    document: InvoiceDocument, money: Callable[[Decimal], str]
) -> list[tuple[str, str]]:
    """Subtotal without tax, the tax per rate ("GST 10%"), the total and, once issued, what
    paid it and what it still owes."""
    invoice = document.invoice
    label = document.tax_label
    subtotal = f"Subtotal (excluding {label})" if invoice.tax_inclusive else "Subtotal"
    totals = [(subtotal, money(document.subtotal))]
    by_rate = document.tax_by_rate
    if by_rate:
        totals.extend((f"{label} {_rate(rate)}", money(tax)) for rate, tax in by_rate)
    else:
        totals.append((label, money(document.tax)))
    totals.append(("Total", money(invoice.total)))
    if invoice.is_draft:
        return totals
    if invoice.paid:
        totals.append(("Paid", money(-invoice.paid)))
    if invoice.credited:
        totals.append(("Credit notes", money(-invoice.credited)))
    totals.append((_due_label(document), money(invoice.balance)))
    return totals


def _due_label(document: InvoiceDocument) -> str:
    return "Balance due" if document.invoice.status != "void" else "Balance (void)"


def invoice_html(document: InvoiceDocument, formatter: Formatter) -> str:
    """An invoice: letterhead, patient, lines, totals, payments and credit notes against it. A
    draft prints as DRAFT, without a number and without a balance."""
    money, day = formatter.money, formatter.day
    invoice = document.invoice
    if invoice.is_draft:
        title = 'Invoice <span class="void">DRAFT</span>'
        facts = [("Date", day(invoice.issue_date))]
    else:
        title = "Tax invoice" if document.letterhead.tax_number else "Invoice"
        if invoice.status == "void":
            title += ' <span class="void">VOID</span>'
        facts = [("Invoice", f"#{invoice.number}"), ("Date", day(invoice.issue_date))]
    if invoice.due_date is not None:
        facts.append(("Due", day(invoice.due_date)))
    if invoice.service_date is not None:
        facts.append(("Service date", day(invoice.service_date)))
    if document.practitioner:
        facts.append(("Practitioner", document.practitioner))
    if document.recipient:
        facts.append(("Patient", document.patient.full_name))
    if document.payer is not None and invoice.claim_reference:
        facts.append((document.claim_label, invoice.claim_reference))
    body = [_head(document.letterhead, title, facts, details=not document.recipient)]
    if invoice.is_draft:
        body.append(
            '<p class="void">DRAFT: not issued yet. It has no number and nothing is owed on it '
            "until it is issued.</p>"
        )
    beside = _patient_block(document, formatter) + _extra(document.extra)
    if document.recipient:
        body.append(_window(document.recipient, document.letterhead, beside))
    else:
        bill_to = document.patient.full_name if document.payer is None else document.payer.name
        body.append(f"<p>Bill to: <b>{escape(bill_to)}</b></p>")
        body.append(beside)
    body.append(invoice_lines_table(document, money))
    if invoice.tax_inclusive:
        body.append(f"<p><b>Prices include {escape(document.tax_name or 'tax')}</b></p>")
    due_label = _due_label(document)
    body.append(_totals(invoice_totals(document, money), strong=("Total", due_label)))
    if document.payments:
        body.append("<p><b>Payments received</b></p>")
        body.append(
            _table(
                ("Date", "Payment", "From payment", "From account credit", "Amount"),
                (
                    (
                        escape(day(p.day)),
                        str(p.payment_id),
                        money(p.from_money),
                        money(p.from_credit),
                        money(p.amount),
                    )
                    for p in document.payments
                ),
                (2, 3, 4),
                (18, 14, 22, 26, 20),
            )
        )
    if document.credit_notes:
        body.append("<p><b>Credit notes</b></p>")
        body.append(
            _table(
                ("Date", "Credit note", "Reason", "Reduced the balance", "To account credit"),
                (
                    (
                        escape(day(n.note_date)),
                        str(n.number),
                        _text(n.reason),
                        money(n.applied),
                        money(n.to_credit),
                    )
                    for n in document.credit_notes
                ),
                (3, 4),
                (16, 14, 30, 20, 20),
            )
        )
    body.append(_foot(document.letterhead))
    return _page("".join(body))


def _patient_block(document: InvoiceDocument, formatter: Formatter) -> str:
    """On an invoice billed to a payer: the patient it is for (name, date of birth, member
    number) and the claim reference under the payer's label; empty for the patient's own."""
    if document.payer is None:
        return ""
    patient = document.patient
    lines = [f"Patient: <b>{escape(patient.full_name)}</b>"]
    if patient.date_of_birth is not None:
        lines.append(f"Date of birth: {escape(formatter.day(patient.date_of_birth))}")
    if document.member_number:
        lines.append(f"Member number: {escape(document.member_number)}")
    if document.invoice.claim_reference:
        lines.append(
            f"{escape(document.claim_label)}: <b>{escape(document.invoice.claim_reference)}</b>"
        )
    return '<p class="patient">' + "<br>".join(lines) + "</p>"


def receipt_html(document: ReceiptDocument, formatter: Formatter) -> str:
    """A payment receipt: sources, what it paid (money and credit), credit left and remaining."""
    money, day = formatter.money, formatter.day
    payment = document.payment
    refund = payment.kind == "refund"
    title = "Refund receipt" if refund else "Payment receipt"
    if payment.reversed:
        title += ' <span class="void">REVERSED</span>'
    facts = [("Receipt", str(payment.id)), ("Date", day(payment.payment_date))]
    if document.reference:
        facts.append(("Remittance", document.reference))
    body = [_head(document.letterhead, title, facts, details=not document.recipient)]
    if document.recipient:
        body.append(_window(document.recipient, document.letterhead))
    verb = "Refunded to" if refund else "Received from"
    who = document.patient.full_name if document.payer is None else document.payer.name
    body.append(f"<p>{verb}: <b>{escape(who)}</b></p>")
    if payment.sources:
        body.append(
            _table(
                ("Payment type", "Amount"),
                [(escape(name), money(abs(amount))) for name, amount in payment.sources.items()],
                (1,),
                (70, 30),
            )
        )
    applied = payment.applications  # as saved: a reprint says what the first print said
    if applied and document.payer is not None:  # a remittance: each invoice's patient and claim
        body.append("<p><b>Applied to invoices</b></p>")
        body.append(_remittance_table(document, money))
    elif applied:
        body.append("<p><b>Applied to invoices</b></p>")
        body.append(
            _table(
                ("Invoice", "From this payment", "From account credit", "Applied"),
                (
                    (
                        f"#{a.invoice_number}" + (" (removed since)" if a.removed else ""),
                        money(a.from_money),
                        money(a.from_credit),
                        money(a.amount),
                    )
                    for a in applied
                ),
                (1, 2, 3),
                (16, 28, 30, 26),
            )
        )
    if refund:
        summary = [("Refunded", money(-payment.total))]
    else:
        summary = [
            ("Money received", money(payment.total)),
            ("Money applied to invoices", money(document.money_applied)),
            ("Account credit applied", money(document.credit_applied)),
            ("Left as account credit", money(document.to_credit)),
        ]
    summary += [
        ("Account credit before", money(document.credit_before)),
        ("Account credit remaining", money(document.credit_after)),
    ]
    body.append(_totals(summary, strong=("Money received", "Refunded", "Account credit remaining")))
    if payment.note:
        body.append(f'<p class="muted">Note: {_text(payment.note)}</p>')
    body.append(_foot(document.letterhead))
    return _page("".join(body))


def _remittance_table(document: ReceiptDocument, money: Callable[[Decimal], str]) -> str:
    """A remittance's invoices: each with the patient it is for and the claim reference."""
    assert document.payer is not None
    rows = []
    for a in document.payment.applications:
        billed = document.patient_of(a.invoice_id)
        rows.append(
            (
                f"#{a.invoice_number}" + (" (removed since)" if a.removed else ""),
                escape(billed.patient_name) if billed else "",
                escape(billed.claim_reference or "") if billed else "",
                money(a.from_money),
                money(a.from_credit),
                money(a.amount),
            )
        )
    return _table(
        (
            "Invoice",
            "Patient",
            document.payer.reference_label,
            "From this payment",
            "From credit",
            "Applied",
        ),
        rows,
        (3, 4, 5),
        (12, 22, 18, 17, 15, 16),
    )


def balance_text(amount: Decimal, formatter: Formatter) -> str:
    """A statement balance: ``$80.00`` owing, or ``$20.00 credit`` when the clinic holds credit."""
    if amount < 0:
        return f"{formatter.money(-amount)} credit"
    return formatter.money(amount)


def statement_html(document: StatementDocument, formatter: Formatter) -> str:
    """A statement for a period with a running balance; negative balances read as credit."""
    money, day = formatter.money, formatter.day
    if document.start is None:
        period = f"all history to {day(document.end)}"
    else:
        period = f"{day(document.start)} to {day(document.end)}"
    facts = [("Period", period), ("Patient", document.patient.full_name)]
    body = [_head(document.letterhead, "Statement", facts, details=not document.recipient)]
    if document.recipient:
        body.append(_window(document.recipient, document.letterhead))
    rows = [
        (
            escape(day(document.start)) if document.start else "",
            "Opening balance",
            "",
            "",
            escape(balance_text(document.opening_balance, formatter)),
        )
    ]
    for ln in document.lines:
        text = escape(ln.description)
        if ln.note:
            text += f" <span class='muted'>({escape(money(ln.note))})</span>"
        rows.append(
            (
                escape(day(ln.day)),
                text,
                escape(money(ln.change)) if ln.change > 0 else "",
                escape(money(-ln.change)) if ln.change < 0 else "",
                escape(balance_text(ln.balance, formatter)),
            )
        )
    body.append(
        _table(
            ("Date", "Description", "Charges", "Payments, credits", "Balance"),
            rows,
            (2, 3, 4),
            (18, 26, 14, 18, 24),
        )
    )
    closing = document.closing_balance
    closing_label = "Account credit" if closing < 0 else "Balance owing"
    body.append(
        _totals(
            [
                ("Charges", money(document.charges)),
                ("Payments & credits", money(document.payments_and_credits)),
                ("Account credit applied to invoices", money(document.credit_applied)),
                (closing_label, money(abs(closing))),
            ],
            strong=(closing_label,),
        )
    )
    if document.open_invoices:
        body.append("<p><b>Invoices still open</b></p>")
        body.append(
            _table(
                ("Invoice", "Date", "Total", "Owing"),
                (
                    (
                        f"#{i.number}",
                        escape(day(i.issue_date)),
                        money(i.total),
                        money(i.balance),
                    )
                    for i in document.open_invoices
                ),
                (2, 3),
                (20, 30, 25, 25),
            )
        )
    for payer, invoices in document.payers_billed:
        body.append(_billed_to(payer, invoices, formatter))
    body.append(_foot(document.letterhead))
    return _page("".join(body))


def _billed_to(payer: str, invoices: Sequence[PayerBilledInvoice], formatter: Formatter) -> str:
    """A patient's statement's section of the invoices billed to one payer: not in the
    patient's balance, listed so the patient sees what was claimed for them."""
    money, day = formatter.money, formatter.day
    label = invoices[0].reference_label

    def status(invoice: PayerBilledInvoice) -> str:
        if invoice.status == "void":
            return "Void"
        return "Paid" if invoice.status == "paid" else money(invoice.balance)

    return (
        f"<p><b>Billed to {escape(payer)}</b><br>"
        f'<span class="muted">These invoices are for you but billed to {escape(payer)}; they '
        "are not part of your balance.</span></p>"
        + _table(
            ("Invoice", "Date", label, "Total", f"Owed by {payer}"),
            (
                (
                    f"#{i.number}",
                    escape(day(i.issue_date)),
                    escape(i.claim_reference or ""),
                    money(i.total),
                    escape(status(i)),
                )
                for i in invoices
            ),
            (3, 4),
            (14, 20, 26, 18, 22),
        )
    )


def payer_statement_html(document: PayerStatementDocument, formatter: Formatter) -> str:
    """A payer's statement for a period: each invoice with the patient and claim, remittances,
    a running balance (negative: the payer's credit), and its open invoices."""
    money, day = formatter.money, formatter.day
    payer = document.payer
    if document.start is None:
        period = f"all history to {day(document.end)}"
    else:
        period = f"{day(document.start)} to {day(document.end)}"
    facts = [("Period", period), ("Payer", payer.name)]
    body = [_head(document.letterhead, "Statement", facts, details=not document.recipient)]
    if document.recipient:
        body.append(_window(document.recipient, document.letterhead))
    rows = [
        (
            escape(day(document.start)) if document.start else "",
            "Opening balance",
            "",
            "",
            "",
            "",
            escape(balance_text(document.opening_balance, formatter)),
        )
    ]
    for ln in document.lines:
        text = escape(ln.description)
        if ln.note:
            text += f" <span class='muted'>({escape(money(ln.note))})</span>"
        rows.append(
            (
                escape(day(ln.day)),
                text,
                escape(ln.patient),
                escape(ln.reference),
                escape(money(ln.change)) if ln.change > 0 else "",
                escape(money(-ln.change)) if ln.change < 0 else "",
                escape(balance_text(ln.balance, formatter)),
            )
        )
    body.append(
        _table(
            (
                "Date",
                "Description",
                "Patient",
                f"{payer.reference_label} / remittance",
                "Charges",
                "Payments, credits",
                "Balance",
            ),
            rows,
            (4, 5, 6),
            (14, 16, 18, 17, 10, 12, 13),
        )
    )
    closing = document.closing_balance
    closing_label = "Credit held" if closing < 0 else "Balance owing"
    body.append(
        _totals(
            [
                ("Charges", money(document.charges)),
                ("Payments & credits", money(document.payments_and_credits)),
                ("Credit applied to invoices", money(document.credit_applied)),
                (closing_label, money(abs(closing))),
            ],
            strong=(closing_label,),
        )
    )
    if document.open_invoices:
        body.append("<p><b>Invoices still open</b></p>")
        body.append(
            _table(
                ("Invoice", "Date", "Patient", payer.reference_label, "Total", "Owing"),
                (
                    (
                        f"#{i.number}",
                        escape(day(i.issue_date)),
                        escape(i.patient_name),
                        escape(i.claim_reference or ""),
                        money(i.total),
                        money(i.balance),
                    )
                    for i in document.open_invoices
                ),
                (4, 5),
                (11, 16, 22, 21, 15, 15),
            )
        )
    body.append(_foot(document.letterhead))
    return _page("".join(body))
