"""Server-rendered SVG of the portal: the channels in use over a day (CAP-1/2/3) and QR codes.

No script and no style attribute (the portal's content security policy allows neither): an SVG
is markup with presentation attributes, escaped by the template engine like any other text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

import segno

#: a day in slots of half an hour
SLOT = timedelta(minutes=30)
SLOTS = 48


@dataclass(frozen=True)
class Interval:
    """One call's time on a channel: from its start to its end."""

    start: datetime
    end: datetime


def peak_use(calls: Iterable[Interval], day_start: datetime, *, slots: int = SLOTS) -> list[int]:
    """CAP-3: the most channels in use at once within each slot of the day (a sweep over the
    calls' starts and ends; an end frees its channel before a start at the same instant takes one)."""
    events = sorted(
        [(c.start, 1) for c in calls if c.end > c.start] + [(c.end, -1) for c in calls if c.end > c.start],
        key=lambda e: (e[0], e[1]),
    )
    peaks = [0] * slots
    current, index = 0, 0
    for slot in range(slots):
        begin, end = day_start + slot * SLOT, day_start + (slot + 1) * SLOT
        while index < len(events) and events[index][0] <= begin:
            current += events[index][1]
            index += 1
        peak = current
        while index < len(events) and events[index][0] < end:
            current += events[index][1]
            index += 1
            peak = max(peak, current)
        peaks[slot] = peak
    return peaks


def channel_chart(peaks: Sequence[int], capacity: int, *, title: str, capacity_label: str) -> str:
    """CAP-1/2: a bar per slot (the peak of channels in use) under the line of the capacity; a
    slot that reached the capacity is drawn in the warning colour (CAP-3 refuses the next call)."""
    width, height, left, bottom, top = 500, 160, 28, 18, 10
    ceiling = max(capacity, max(peaks, default=0), 1)
    plot = height - bottom - top
    step = (width - left) / max(len(peaks), 1)

    def y(value: float) -> float:
        return top + plot - plot * value / ceiling

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="chart-title" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width}" y2="{y(0):.1f}" stroke="#889"/>',
    ]
    for hour in range(0, 25, 6):
        x = left + hour * 2 * step
        parts.append(f'<text x="{x:.1f}" y="{height - 4}" font-size="10" fill="#556">{hour:02d}h</text>')
    for slot, peak in enumerate(peaks):
        if peak:
            colour = "#a33" if peak >= capacity else "#1d4e89"
            parts.append(
                f'<rect x="{left + slot * step + 1:.1f}" y="{y(peak):.1f}" width="{step - 2:.1f}" '
                f'height="{y(0) - y(peak):.1f}" fill="{colour}"><title>{peak}</title></rect>'
            )
    parts.append(
        f'<line x1="{left}" y1="{y(capacity):.1f}" x2="{width}" y2="{y(capacity):.1f}" '
        'stroke="#a33" stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<text x="2" y="{y(capacity) + 4:.1f}" font-size="10" fill="#a33">{capacity}</text>'
        f'<text x="{width - 4}" y="{max(y(capacity) - 3, 9):.1f}" font-size="10" fill="#a33" '
        f'text-anchor="end">{escape(capacity_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def qr_svg(text: str, *, title: str) -> str:
    """A QR code of ``text`` as inline SVG (black on white, with its quiet zone)."""
    code = segno.make(text, error="m")
    svg: str = code.svg_inline(scale=4, title=title, light="#fff")
    return svg
