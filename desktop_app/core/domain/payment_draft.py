"""A payment being entered: the patient's figures loaded once, previewed on every keystroke.

The payment dialog makes one draft when it opens; each keystroke calls :meth:`PaymentDraft.preview`,
which only runs the pure allocation engine in memory. Saving goes through
``Clinic.record_payment``, which re-checks everything against the database under the patient's
lock; if another computer changed the patient meanwhile, the dialog makes a fresh draft.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from .allocation import AllocationMode, OpenInvoice, allocate
from .errors import BillingError, Refusal
from .money import AMOUNT_FIELD, AmountInput, format_amount, parse_minor
from .records import PaymentPreview


@dataclass(frozen=True)
class PaymentDraft:
    """Everything a preview needs, read in one transaction when the payment was started.

    Attributes:
        payment_types: the active payment types, in display order.
        credit_available: the patient's account credit, in minor units.
        open_invoices: the patient's open invoices, oldest first.
        explain_not_open: raises the right BillingError for an invoice id that is not one of
            ``open_invoices`` (paid, void, another patient's, missing, or issued since).
    """

    patient_id: int
    patient_name: str
    currency: str
    mode: AllocationMode
    source_invoice: int | None
    payment_date: date
    payment_types: tuple[str, ...]
    credit_available: int
    open_invoices: tuple[OpenInvoice, ...]
    explain_not_open: Callable[[object], None]
    #: Payment types that carry their own allocation mode (a clinic setting), by name. A
    #: payment whose money comes only from such types is allocated by their mode (the most
    #: careful of them when they differ) unless a mode was asked for (``mode_asked``).
    type_modes: Mapping[str, AllocationMode] = field(default_factory=dict)
    mode_asked: bool = False
    #: A payer's remittance reference (None for a patient's payment).
    reference: str | None = None

    def parse_source(self, name: str, amount: AmountInput) -> int:
        """One source amount in minor units, or a BillingError naming the payment type."""
        if name not in self.payment_types:
            raise BillingError(
                f"{name!r} is not a payment type of this clinic; use one of "
                f"{', '.join(self.payment_types)}.",
                code=Refusal.BAD_CHOICE,
            )
        return parse_minor(amount, self.currency, what=str(name))

    def parse_applied(self, invoice_id: object, amount: AmountInput) -> int:
        """One typed "Apply to invoices" amount in minor units, at most the invoice's balance."""
        # True and 1.0 would find invoice 1 in a dict: only a plain int is an invoice id.
        invoice = None
        if isinstance(invoice_id, int) and not isinstance(invoice_id, bool):
            invoice = self._open_by_id.get(invoice_id)
        if invoice is None:
            self.explain_not_open(invoice_id)
            raise BillingError(  # pragma: no cover
                f"Invoice {invoice_id!r} is not open.", code=Refusal.NOT_OPEN
            )
        minor = parse_minor(amount, self.currency, what=f"invoice #{invoice.number}")
        if minor > invoice.balance:
            raise BillingError(
                f"Invoice #{invoice.number}: {format_amount(minor, self.currency)} is more than "
                f"its balance of {format_amount(invoice.balance, self.currency)}.",
                code=Refusal.OVER_BALANCE,
                field=AMOUNT_FIELD,
            )
        return minor

    @cached_property
    def _open_by_id(self) -> dict[int, OpenInvoice]:
        """The open invoices by id, made once per draft (its open invoices never change): a
        remittance types amounts against hundreds of a payer's thousands of invoices, and one
        dict per typed amount made each keystroke quadratic."""
        return {inv.id: inv for inv in self.open_invoices}

    def preview(
        self,
        sources: Mapping[str, AmountInput] | None = None,
        applied: Mapping[int, AmountInput] | None = None,
    ) -> PaymentPreview:
        """Exactly what saving would do with these sources and typed amounts; saves nothing.

        Raises:
            BillingError: a bad amount, an unknown payment type, an invoice that is not open for
                this patient, more than a balance, or more than payment plus credit.
        """
        if not isinstance(sources or {}, Mapping) or not isinstance(applied or {}, Mapping):
            raise BillingError(
                "Give sources as type -> amount and applied as invoice -> amount.",
                code=Refusal.BAD_CHOICE,
            )
        source_minor = [
            (name, minor)
            for name, amount in (sources or {}).items()
            if (minor := self.parse_source(name, amount))
        ]
        typed = {iid: self.parse_applied(iid, amount) for iid, amount in (applied or {}).items()}
        plan = allocate(
            self.open_invoices,
            payment_total=sum(minor for _, minor in source_minor),
            credit_available=self.credit_available,
            mode=self.mode_for([name for name, _ in source_minor]),
            typed=typed,
            source_invoice=self.source_invoice,
            currency=self.currency,
        )
        return PaymentPreview(
            self.patient_id,
            self.currency,
            self.payment_date,
            tuple(source_minor),
            tuple(sorted(typed.items())),
            plan,
            self.reference,
        )

    def mode_for(self, type_names: list[str]) -> AllocationMode:
        """The allocation mode for money of these payment types: the types' own mode when
        every one of them carries one (the most careful when they differ: off, then the source
        invoice only, then the others), else the draft's."""
        if self.mode_asked or not type_names:
            return self.mode
        own = [self.type_modes.get(name) for name in type_names]
        if any(mode is None for mode in own):
            return self.mode
        careful = (AllocationMode.OFF, AllocationMode.SOURCE_INVOICE)
        for mode in careful:
            if mode in own:
                return mode
        first = own[0]
        assert first is not None
        return first
