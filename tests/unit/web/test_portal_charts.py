"""The portal's server-drawn SVG: the peak of channels in use per slot (CAP-3) and its chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from nuage.web.portal.charts import SLOT, Interval, channel_chart, peak_use, qr_svg

DAY = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)  # midnight in Brussels


def _call(start_min: int, end_min: int) -> Interval:
    return Interval(DAY + timedelta(minutes=start_min), DAY + timedelta(minutes=end_min))


@pytest.mark.rule("CAP-3")
def test_the_peak_of_a_slot_counts_the_calls_in_progress_at_once() -> None:
    calls = [_call(10, 50), _call(20, 25), _call(25, 40), _call(-30, 5)]
    # slot 0: the call from before midnight, then 10-50 with 20-25 (the end at 25 frees its channel
    # before 25-40 takes one): at most 2; slot 1: 10-50 and 25-40 still running: 2; then none
    assert peak_use(calls, DAY, slots=4) == [2, 2, 0, 0]


def test_a_call_that_ends_as_it_starts_takes_no_channel() -> None:
    assert peak_use([_call(5, 5)], DAY, slots=2) == [0, 0]
    assert timedelta(days=1) == SLOT * 48


@pytest.mark.rule("CAP-1")
def test_the_chart_draws_a_bar_per_busy_slot_and_the_capacity_line() -> None:
    svg = channel_chart([0, 1, 4, 2], 4, title="Channels <today>", capacity_label="capacity (CAP-1)")
    tree = etree.fromstring(svg.encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = tree.findall("s:rect", ns)
    assert [bar.get("fill") for bar in bars] == ["#1d4e89", "#a33", "#1d4e89"]  # at capacity: warned
    assert tree.find("s:title", ns).text == "Channels <today>"  # escaped in the markup, read back
    assert "style=" not in svg  # the portal's policy allows no style attribute


def test_the_qr_code_is_inline_svg_without_style() -> None:
    svg = qr_svg("sip:alice:secret@nuage.local", title="Alice's phone")
    assert svg.startswith("<svg")
    assert "<path" in svg
    assert "style=" not in svg
