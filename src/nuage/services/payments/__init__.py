"""Payments and invoice documents use cases (BIL-4, PAY-1..4, TEN-2, TEN-5), one module per use case.

* ``documents``: the PDF and validated UBL of an issued invoice, rendered once and kept; listings;
* ``delivery``: the e-mails (invoices, reminders) and their sending over the ``Mailer`` port;
* ``payments``: payments by hand and from camt.053 statements, parked entries, balances;
* ``dunning``: the daily job (reminders, fees, interest), collection costs, charge invoices;
* ``suspension``: minimum service for arrears and its restoration, defaulting partners (PAY-4);
* ``common``: what they share (the operator, a visible invoice, the brand);
* ``ports``: the storage, rendering, validation and mail ports.

The package ``__init__`` imports nothing, so the billing use cases may import ``ports`` (the
``PaymentStore`` of their unit of work) without loading the use cases that call billing.
"""
