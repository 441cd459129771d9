"""Received fax pages as PDF: spandsp's TIFF (bilevel, fax resolutions) to one PDF, with Pillow.

Owns ``tiff_to_pdf``. Each TIFF page becomes one PDF page at the resolution of the fax (a 204x98 dpi
"standard" page keeps its A4 shape), the bilevel image stored losslessly (CCITT G4 inside the PDF,
Pillow's choice for 1-bit images with libtiff). Blocking: callers on the event loop use a thread.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageSequence

FAX_DPI = (204.0, 196.0)  # fine resolution, when a page names none


def tiff_pages(tiff: Path) -> list[Image.Image]:
    """The pages of a fax TIFF as 1-bit images (``info["dpi"]`` kept). Blocking."""
    with Image.open(tiff) as image:
        pages = []
        for frame in ImageSequence.Iterator(image):
            page = frame.convert("1")
            page.info["dpi"] = frame.info.get("dpi", FAX_DPI)
            pages.append(page)
        return pages


def tiff_to_pdf(tiff: Path) -> tuple[bytes, int]:
    """The PDF of a fax TIFF and its number of pages; ``(b"", 0)`` for a TIFF with no page. Blocking."""
    if not tiff.exists() or tiff.stat().st_size == 0:
        return b"", 0
    try:
        pages = tiff_pages(tiff)
    except (OSError, ValueError):  # spandsp leaves no readable directory when no page arrived
        return b"", 0
    if not pages:
        return b"", 0
    out = io.BytesIO()
    first, rest = pages[0], pages[1:]
    first.save(out, format="PDF", save_all=True, append_images=rest, dpi=first.info["dpi"])
    return out.getvalue(), len(pages)
