"""SUP and HW: support tickets, the operator's opening hours and the clocks that run in them.

Pure domain: what the terms say about support (SUP-1, SUP-2) and hardware (HW-1), no storage.
"""
