"""HW-1: zero-touch provisioning of the desk phones the operator supplies.

A phone fetches its configuration by MAC address; the configuration is generated from the device
and user records in the phone vendor's own format, so a new phone rings without typing anything.
"""
