"""The ledger on its database: the store and the one transaction seam every write goes through,
the permission guard, request ids, the audit log's writer, and the rules of each money movement
(payments, corrections) with the reads that trace credit and verify the invariants."""
