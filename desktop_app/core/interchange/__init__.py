"""What comes into the ledger and leaves it: CSV import and export, the accounting export for
Xero with its account mapping, and backup and restore."""
