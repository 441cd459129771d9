"""Compile the EN 16931 Schematron once per session (it is cached per process and thread)."""

from __future__ import annotations

import pytest

from nuage.documents.validation import _Schematron


@pytest.fixture(scope="session", autouse=True)
def compiled_rules() -> None:
    _Schematron.executable()
