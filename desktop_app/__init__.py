"""Clinic Ledger: desktop billing for clinic front desks.

The headless engine lives in :mod:`desktop_app.core`; the command line and windows sit on top of it.
"""

__version__ = "0.1.0"
