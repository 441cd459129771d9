"""Directory use cases (CFG-1..13), one module per noun; each is one transaction in the caller's tenant.

TEN-4: another tenant's item is NotFound, exactly like a missing one.
"""
