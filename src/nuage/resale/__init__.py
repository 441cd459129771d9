"""BIL-8: resale of a third party's UCaaS (Telavox): its catalogue, activations and their billing.

Pure domain; the upstream provider is reached through a port that the use cases call.
"""
