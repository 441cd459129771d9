"""Compile the EN 16931 Schematron once per session (it is cached per process and thread)."""

from __future__ import annotations

import pytest

from nuage.adapters.einvoice_validation import SaxonValidator


@pytest.fixture(scope="session", autouse=True)
def compiled_rules() -> None:
    SaxonValidator().warm()
