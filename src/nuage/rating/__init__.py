"""Rating (RAT): call detail records priced per second against versioned tariffs and packs.

Entry points: ``rating.rater.rate_calls`` (one run over a batch of CDRs),
``rating.runs.rate_for_runs`` (the customer-retail and partner-wholesale runs),
``rating.csv_import.parse_cdr_csv`` (CDR files). Pure domain: no I/O.
"""
