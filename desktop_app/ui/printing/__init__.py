"""Printed documents: invoice, payment receipt and patient statement, previewed, printed and saved
as PDF with Qt's print support; made as PDF without a window to attach to an email, or many in one
PDF to print and post (:mod:`.pdf_bytes`)."""
