"""In-memory storage: the unit of work of ``nuage.services.ports`` over dictionaries.

Beside the SQL adapters as ``nuage.sip.memory`` is beside the SIP ones: a real, shipped
implementation (not a mock) for tests of the use cases' rules that need no database, and for lab
set-ups. The repository contract tests run it and the SQL one through the same checks.
"""
