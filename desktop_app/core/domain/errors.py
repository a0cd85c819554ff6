"""Errors the core raises, each with a message a receptionist can act on.

Every refused operation raises a :class:`BillingError` (a ``ValueError``) and changes nothing.
"""

from __future__ import annotations


class BillingError(ValueError):
    """An operation was refused; nothing was saved. The message says what to fix.

    Attributes:
        code: a stable name for the kind of refusal (``"preview_altered"``,
            ``"request_reused"``), for callers and tests that must not depend on the wording;
            None where no code has been given yet.
        field: the input the refusal is about (``"amount"``, ``"reason"``, ``"payment_date"``),
            so a window can mark that field; None when it is about no one input.
    """

    def __init__(
        self, message: str = "", *, code: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


class ConcurrentChangeError(BillingError):
    """The patient's credit or an invoice changed since the preview (another workstation saved).

    Nothing was saved. Preview again and check the new figures before saving.
    """


class DatabaseBusyError(BillingError):
    """The database stayed locked by another computer's save. Nothing was saved; try again."""


class NotFoundError(BillingError):
    """A patient, invoice or payment that does not exist was asked for."""


#: Refusal codes (``BillingError.code``) raised by the ledger's save checks.
PREVIEW_ALTERED = "preview_altered"
REQUEST_REUSED = "request_reused"
