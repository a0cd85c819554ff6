"""The ledger's rules as pure Python: money, currencies, dates, allocation, invoice arithmetic,
text, the named kinds, refusals and the records handed out. Standard library only (checked by
import-linter): no database, no clock but the one passed in, no Qt."""
