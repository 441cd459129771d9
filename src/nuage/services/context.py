"""Who is acting and when: every use case takes a Context first."""

from __future__ import annotations

from dataclasses import dataclass

from nuage.shared.clock import Clock
from nuage.tenancy.rules import TenantScope


@dataclass(frozen=True)
class Context:
    """The caller's tenant scope (TEN-4) and the clock the use case reads."""

    scope: TenantScope
    clock: Clock

    @classmethod
    def operator(cls, operator_id: str, clock: Clock) -> Context:
        """The operator's staff: every tenant visible."""
        return cls(TenantScope(operator_id, None), clock)
