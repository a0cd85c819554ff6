"""Read-only figures and documents: aged receivables, takings, the credit held, the audit log in
plain words, and what printed invoices, receipts and statements say."""
