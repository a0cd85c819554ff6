"""Errors the core raises, each with a message a receptionist can act on.

Every refused operation raises a :class:`BillingError` (a ``ValueError``) and changes nothing.
"""

from __future__ import annotations


class BillingError(ValueError):
    """An operation was refused; nothing was saved. The message says what to fix."""


class ConcurrentChangeError(BillingError):
    """The patient's credit or an invoice changed since the preview (another workstation saved).

    Nothing was saved. Preview again and check the new figures before saving.
    """


class DatabaseBusyError(BillingError):
    """The database stayed locked by another computer's save. Nothing was saved; try again."""


class NotFoundError(BillingError):
    """A patient, invoice or payment that does not exist was asked for."""
