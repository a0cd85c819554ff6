"""Xero's Accounting API: the client that calls it within Xero's limits (``client``)."""
