"""Payments, dunning and suspension (PAY-1..4): pure domain, no storage, no I/O."""
