"""The longest texts the ledger keeps, shared by the managers that take them from people and the
import that takes them from files (one limit, whichever way a name arrives)."""

from __future__ import annotations

#: A patient's first or last name, and the clinic's name (characters).
MAX_NAME = 200
#: A payment type's name (characters).
MAX_PAYMENT_TYPE = 60
#: A save request's id (characters).
MAX_REQUEST_ID = 200
