"""Who a printed document is addressed to: the lines of the address block in an envelope's window.

A patient's "Invoice to" text (someone else is billed: a parent, an insurer, an employer) is the
address block when given, line for line. Otherwise it is the patient's postal address (title and
name, address lines, "city region postcode", then the country code), without the country line
when the patient lives in the clinic's own country, as post within a country is addressed.
A patient with neither has no address block (documents then name the patient only).
"""

from __future__ import annotations

from .records import PatientRecord


def recipient_lines(patient: PatientRecord, home_country: str = "") -> tuple[str, ...]:
    """The address block for ``patient``; ``home_country`` is the clinic's ISO code ("AU")."""
    if patient.invoice_to and patient.invoice_to.strip():
        return tuple(line.strip() for line in patient.invoice_to.splitlines() if line.strip())
    lines = patient.postal_lines
    country = (patient.country or "").strip().upper()
    if lines and country and country == home_country.upper() and lines[-1] == patient.country:
        lines = lines[:-1]
    return tuple(lines)
