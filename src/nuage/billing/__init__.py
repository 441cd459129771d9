"""Billing (BIL, TEN-5, CTR-3): price plans, charge models, periods, invoices and billing runs.

Pure domain: every use case takes plain values and returns invoice drafts.
Entry points are listed in ``billing.runs`` (monthly run, order invoice,
early-termination invoice) and ``billing.invoices`` (credit notes, numbering).
"""
