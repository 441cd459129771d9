"""Nuage: cloud business telephony run end to end, following the provider's terms."""

__version__ = "0.1.0"
