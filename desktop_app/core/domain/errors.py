"""Errors the core raises, each with a message a receptionist can act on.

Every refused operation raises a :class:`BillingError` (a ``ValueError``) and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    """Why an operation was refused: ``BillingError.code``, stable whatever the wording.

    Windows and scripts decide what to do from the code (and mark the input named by
    ``BillingError.field``); tests assert on it. A code names a kind of refusal, not one message:
    ``over_credit`` is every "more than the available credit", wherever it is refused.
    """

    # -- the input itself ---------------------------------------------------------------------
    MISSING = "missing"  # a required input is empty ("Enter the reason for the transfer.")
    TOO_LONG = "too_long"  # text or a list longer than its limit
    BAD_TEXT = "bad_text"  # not text, a line break in a one-line field, an invisible character
    BAD_AMOUNT = "bad_amount"  # not a number, too many decimal places, negative, zero
    AMOUNT_TOO_LARGE = "amount_too_large"  # beyond the largest amount the ledger keeps
    BAD_DATE = "bad_date"  # not a date, or outside the ledger's window of dates
    FUTURE_DATE = "future_date"  # after today where only today or earlier makes sense
    BAD_CHOICE = "bad_choice"  # not one of the choices (mode, sort, status, role, kind, type)
    DUPLICATE = "duplicate"  # a name or entry that already exists or is listed twice
    BAD_FILE = "bad_file"  # a file or folder that cannot be read, written, or is not the kind
    # -- the ledger's rules -------------------------------------------------------------------
    NOT_FOUND = "not_found"  # no such patient, invoice, payment, staff account, ...
    NOT_OPEN = "not_open"  # the invoice is paid or void: nothing more can be applied to it
    OTHER_PATIENT = "other_patient"  # the record belongs to another patient
    OVER_BALANCE = "over_balance"  # more than an invoice still owes
    OVER_CREDIT = "over_credit"  # more than the patient's available credit
    OVER_AVAILABLE = "over_available"  # applied more than the payment and credit together
    NOTHING_TO_SAVE = "nothing_to_save"  # the save would record nothing
    ALREADY_DONE = "already_done"  # already reversed, voided, removed or retired
    CREDIT_SPENT = "credit_spent"  # the credit it gave was used since (the message names by what)
    HAS_CREDIT_NOTES = "has_credit_notes"  # an invoice with credit notes cannot be voided
    CURRENCY_IN_USE = "currency_in_use"  # the currency cannot change once money is recorded
    LAST_ADMINISTRATOR = "last_administrator"  # the clinic keeps one active administrator
    ARCHIVED = "archived"  # the patient is archived (or merged): restore them first
    HAS_BALANCE = "has_balance"  # a patient holding credit or owing money cannot be archived
    # -- saves and their requests -------------------------------------------------------------
    REQUEST_REUSED = "request_reused"  # a request id already used for another request
    PREVIEW_ALTERED = "preview_altered"  # a preview's figures are not what the engine computes
    CONCURRENT_CHANGE = "concurrent_change"  # another computer saved since the preview
    DATABASE_BUSY = "database_busy"  # the database stayed locked; try again
    UNREACHABLE = "unreachable"  # an outside service (Xero) could not be reached; try again
    DATABASE_ERROR = "database_error"  # the database could not complete the save
    FOREIGN_SCHEMA = "foreign_schema"  # the database is not exactly Clinic Ledger's
    # -- people -------------------------------------------------------------------------------
    PERMISSION_DENIED = "permission_denied"  # the signed-in role may not do this
    SIGN_IN_REFUSED = "sign_in_refused"  # a wrong name or password, or a name that must wait
    WEAK_PASSWORD = "weak_password"  # a new password too short, too long or too plain


class BillingError(ValueError):
    """An operation was refused; nothing was saved. The message says what to fix.

    Attributes:
        code: the kind of refusal (a :class:`Refusal`, equal to its text: ``"over_credit"``),
            for callers and tests that must not depend on the wording.
        field: the input the refusal is about (``"amount"``, ``"reason"``, ``"payment_date"``),
            so a window can mark that field; None when it is about no one input.
    """

    #: The code of a refusal raised without one (each subclass names its own).
    default_code: Refusal | None = None

    def __init__(
        self, message: str = "", *, code: Refusal | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code if code is not None else self.default_code
        self.field = field


def bad_file(message: str, *, field: str | None = None) -> BillingError:
    """The refusal of a file or folder that cannot be read or written, or is not the kind asked
    for (``bad_file``); ``field`` is the input that named it."""
    return BillingError(message, code=Refusal.BAD_FILE, field=field)


class ConcurrentChangeError(BillingError):
    """The patient's credit or an invoice changed since the preview (another workstation saved).

    Nothing was saved. Preview again and check the new figures before saving.
    """

    default_code = Refusal.CONCURRENT_CHANGE


class DatabaseBusyError(BillingError):
    """The database stayed locked by another computer's save. Nothing was saved; try again."""

    default_code = Refusal.DATABASE_BUSY


class NotFoundError(BillingError):
    """A patient, invoice or payment that does not exist was asked for."""

    default_code = Refusal.NOT_FOUND


#: Refusal codes (``BillingError.code``) raised by the ledger's save checks.
#: (Kept for the first callers; the same as the :class:`Refusal` members.)
PREVIEW_ALTERED = Refusal.PREVIEW_ALTERED
REQUEST_REUSED = Refusal.REQUEST_REUSED
