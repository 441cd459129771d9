"""Billing use cases over storage, one concept per module (RAT, CNT, BIL, CTR, TEN-5).

* ``counting``: CNT-1..2 periodic counts and the hash-chained monthly summaries;
* ``cdr_import``: SIP-1 CDR CSV into stored CDRs, idempotent;
* ``rating``: RAT-1..3 for both rating runs (TEN-5), streamed through ``services.jobs``;
* ``plans``: BIL-2 price plans and their assignment; ``contracts``: CTR-1..4;
* ``issuing``: BIL-4 numbering and e-invoice validation, BIL-1 order fees, BIL-4 corrections;
* ``monthly_run``: BIL-2/3/9/11, CNT-3, CTR-4, PAY-2 charges, one invoice per contracting party;
* ``queries``: TEN-4 scoped reads of invoices;
* ``ports``: the storage port these use cases need; ``defaults``, ``demo``, ``render``: the
  first tariffs and plan, the demo traffic and the text rendering of an invoice.

Each use case calls the pure domain (``terms.counting``, ``rating``, ``billing``,
``terms.contract``) and stores its result through ``BillingStore``. Process-wide effects (the
garbage collector's pause for a bulk job) belong to the entry points, not to these modules.
"""
