"""In-memory storage: the unit of work of ``nuage.services.ports`` over dictionaries.

Beside the SQL adapters as ``nuage.sip.memory`` is beside the SIP ones: a real, shipped
implementation (not a mock) for tests of the use cases' rules that need no database, and for lab
set-ups, with the billing and payments stores (``billing``, ``invoices``, ``payments``). The contract
tests (tests/integration/storage) run it and the SQL one through the same checks.
"""
