"""Use cases: each one transaction over a unit of work, scoped by the caller's tenant (TEN-4)."""
