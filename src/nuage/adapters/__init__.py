"""Adapters of infrastructure other than SQL storage: mail, documents, Redis, the SIP plane's bridge to the use cases."""
