"""The ``DocumentRenderer`` adapter (BIL-4): an invoice's HTML (``documents.html``) printed by WeasyPrint."""

from __future__ import annotations

from nuage.documents.html import render_html
from nuage.documents.model import DocumentInput


class WeasyPrintRenderer:
    """BIL-4: the PDF of an invoice or credit note, from the HTML/CSS template."""

    def render_pdf(self, doc: DocumentInput) -> bytes:
        """The document as PDF bytes."""
        from weasyprint import HTML

        pdf = HTML(string=render_html(doc)).write_pdf()
        if pdf is None:  # only when a target file is given, which is not the case here
            raise RuntimeError("WeasyPrint returned no PDF")
        return bytes(pdf)
