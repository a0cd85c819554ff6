"""Printed documents: invoice, payment receipt and patient statement, previewed, printed and saved
as PDF with Qt's print support."""
