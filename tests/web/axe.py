"""axe-core in the portal's browser tests: the engine comes with the ``axe-playwright-python``
package (its bundled ``axe.min.js``, installed by ``scripts/install --test``: nothing is downloaded
at run time), evaluated in the page as it is, and run against WCAG 2.1 A and AA."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import axe_playwright_python
from playwright.sync_api import Page

SEVERE = frozenset({"serious", "critical"})


@cache
def _axe_source() -> str:
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """The page's serious and critical accessibility violations (rule id, impact, the nodes' targets)."""
    page.evaluate(_axe_source())
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
        })).violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                  targets: v.nodes.map(n => n.target.join(" "))}))"""
    )
    return [v for v in found if v["impact"] in SEVERE]


def assert_accessible(page: Page) -> None:
    """No serious or critical violation on this page."""
    severe = violations(page)
    assert severe == [], f"{page.url}: {severe}"
