"""Third-party payers: their kinds, their records, and the arithmetic of split billing.

Standard library only. A payer (a health fund, an insurer, ...) keeps an account like a
patient's; the ledger's side of that is :mod:`desktop_app.core.managers.payers`.

Split billing cuts one visit's lines in two: the payer pays a fixed amount or a share, the
patient the gap. The payer's part is spread over the lines in proportion to each line's total
(largest remainder, so the parts add up to the cent), and each part becomes a line of its own
invoice priced tax included, its tax worked out from that part: each invoice is right by
itself, and the two totals add up to the visit's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from .errors import BillingError, Refusal
from .invoicing import BASIS, CENTI, LineInput, round_half_up
from .money import AmountInput, parse_minor


class PayerKind(StrEnum):
    """Who a third-party payer is."""

    HEALTH_FUND = "health fund"
    INSURER = "insurer"
    WORKERS_COMPENSATION = "workers compensation"
    GOVERNMENT_SCHEME = "government scheme"
    EMPLOYER = "employer"
    OTHER = "other"


#: What each kind of payer usually calls a claim (the payer's ``reference_label`` default).
DEFAULT_REFERENCE_LABEL = {
    PayerKind.HEALTH_FUND: "Claim number",
    PayerKind.INSURER: "Claim number",
    PayerKind.WORKERS_COMPENSATION: "Claim number",
    PayerKind.GOVERNMENT_SCHEME: "Plan or approval number",
    PayerKind.EMPLOYER: "Purchase order",
    PayerKind.OTHER: "Reference",
}


@dataclass(frozen=True, slots=True)
class PayerRecord:
    """A payer with its account's figures: ``credit`` (money it paid that no invoice took)
    and ``outstanding`` (what its open invoices still owe)."""

    id: int
    name: str
    kind: PayerKind
    reference_label: str
    email: str | None
    phone: str | None
    address: str | None
    notes: str | None
    credit: Decimal
    outstanding: Decimal
    archived: bool


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    """A patient's payer: member or claim number, the dates it is valid (None: open-ended),
    and whether the patient's new invoices go to the payer by default."""

    id: int
    patient_id: int
    payer_id: int
    payer_name: str
    member_number: str | None
    valid_from: date | None
    valid_to: date | None
    default_for_invoices: bool

    def valid_on(self, day: date) -> bool:
        """Whether the membership covers ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


def payer_share(share: AmountInput, total_minor: int, currency: str) -> int:
    """The payer's part of ``total_minor``: ``share`` is an amount (``"60.00"``) or a
    percentage (``"80%"``, rounded half up to the minor unit). Refused when negative, more than
    the total, or not a number."""
    if isinstance(share, str) and share.strip().endswith("%"):
        text = share.strip()[:-1].strip()
        try:
            percent = Decimal(text)
        except InvalidOperation:
            percent = Decimal("NaN")
        if not percent.is_finite() or percent < 0 or percent > 100:
            raise BillingError(
                f"The payer's share must be a percentage from 0 to 100, not {share!r}.",
                code=Refusal.BAD_AMOUNT,
                field="payer_share",
            )
        basis_points = int((percent * 100).to_integral_value())
        if Decimal(basis_points) != percent * 100:
            raise BillingError(
                f"The payer's share {share!r} has more than two decimals.",
                code=Refusal.BAD_AMOUNT,
                field="payer_share",
            )
        return round_half_up(total_minor * basis_points, BASIS)
    minor = parse_minor(share, currency, what="the payer's share", field="payer_share")
    if minor > total_minor:
        raise BillingError(
            "The payer's share is more than the invoice's total; the payer cannot pay more "
            "than the visit costs.",
            code=Refusal.BAD_AMOUNT,
            field="payer_share",
        )
    return minor


def split_lines(
    lines: Sequence[LineInput], payer_minor: int
) -> tuple[list[LineInput], list[LineInput]]:
    """The payer's lines and the patient's (the gap), each priced tax included; a line whose
    part is nothing is left off that side. ``payer_minor`` is within the lines' total."""
    total = sum(line.amount_minor for line in lines)
    if not 0 <= payer_minor <= total:
        raise ValueError("the payer's part is outside the total")
    parts = [line.amount_minor * payer_minor // total if total else 0 for line in lines]
    # Largest remainder: the cents the floors left go to the lines that lost most to them.
    left = payer_minor - sum(parts)
    by_remainder = sorted(
        range(len(lines)),
        key=lambda i: (-(lines[i].amount_minor * payer_minor % total if total else 0), i),
    )
    for i in by_remainder[:left]:
        parts[i] += 1
    payer = [_priced(line, part) for line, part in zip(lines, parts, strict=True) if part]
    patient = [
        _priced(line, line.amount_minor - part)
        for line, part in zip(lines, parts, strict=True)
        if line.amount_minor - part
    ]
    return payer, patient


def _priced(line: LineInput, amount_minor: int) -> LineInput:
    """``line`` as one of ``amount_minor``, tax included, its tax worked out from it."""
    tax = round_half_up(amount_minor * line.tax_rate_bp, BASIS + line.tax_rate_bp)
    return replace(
        line,
        unit_price_minor=amount_minor,
        quantity_centi=CENTI,
        discount_minor=0,
        discount_bp=None,
        net_minor=amount_minor - tax,
        tax_minor=tax,
    )
