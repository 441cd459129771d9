"""Errors of the rating engine (RAT-2): a call that cannot be priced."""

from __future__ import annotations

from datetime import datetime

from nuage.errors import RatingError


class NoRateForDestination(RatingError):
    """RAT-2: no prefix of the tariff version matches the destination."""

    error_id = "no-rate-for-destination"

    def __init__(self, destination: str, tariff_version: str) -> None:
        super().__init__(
            f"No rate for destination {destination} in tariff {tariff_version}",
            destination=destination,
            tariff_version=tariff_version,
        )
        self.destination = destination
        self.tariff_version = tariff_version


class NoTariffVersion(RatingError):
    """RAT-2: no tariff version is valid at the call's start."""

    error_id = "no-tariff-version"

    def __init__(self, at: datetime) -> None:
        super().__init__(f"No tariff version valid at {at.isoformat()}", at=at.isoformat())
        self.at = at
