from __future__ import annotations

import pytest
from rating_data import two_version_book

from nuage.rating.tariffs import TariffBook


@pytest.fixture
def book() -> TariffBook:
    return two_version_book()
