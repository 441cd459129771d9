"""Documents per second (BIL-4): a month of 1,000 invoices rendered to PDF and to validated Peppol UBL.

Each invoice has the shape of a partner invoice of the demo (pro-rata and next-month services,
traffic, hardware; two customers, 8 lines). Work is spread over a process pool (one worker per
core); each worker compiles the EN 16931 rules once. Usage::

    .venv/bin/python bench/documents/bench.py [--invoices 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# the sample invoices of the document tests
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "unit" / "documents"))

from samples import PARTNER, PartyKind, document, invoice  # type: ignore[import-not-found]

from nuage.adapters.einvoice_validation import SaxonValidator
from nuage.adapters.weasyprint_pdf import WeasyPrintRenderer
from nuage.documents.model import DocumentInput
from nuage.documents.ubl import build_ubl


def _doc(index: int) -> DocumentInput:
    number = f"INV-2026-{index + 1:06d}"
    issued = invoice(PARTNER, number=number, kind=PartyKind.PARTNER, customers=("cus-dupont", "cus-peeters"))
    built: DocumentInput = document(issued, PARTNER, ("fr", "nl", "en")[index % 3])
    return built


def _warm() -> None:
    SaxonValidator().warm()
    WeasyPrintRenderer().render_pdf(_doc(0))


def _work(indexes: list[int]) -> tuple[float, float, int]:
    ubl_s = pdf_s = 0.0
    size = 0
    for index in indexes:
        doc = _doc(index)
        start = time.perf_counter()
        ubl = build_ubl(doc)
        SaxonValidator().validate(doc.number, ubl)
        middle = time.perf_counter()
        pdf = WeasyPrintRenderer().render_pdf(doc)
        pdf_s += time.perf_counter() - middle
        ubl_s += middle - start
        size += len(pdf) + len(ubl)
    return ubl_s, pdf_s, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    chunks = [list(range(start, args.invoices, args.workers * 4)) for start in range(args.workers * 4)]
    with ProcessPoolExecutor(args.workers, initializer=_warm) as pool:
        list(pool.map(_warm_noop, range(args.workers)))
        started = time.perf_counter()
        results = list(pool.map(_work, chunks))
        wall = time.perf_counter() - started
    ubl_s = sum(r[0] for r in results)
    pdf_s = sum(r[1] for r in results)
    size = sum(r[2] for r in results)
    n = args.invoices
    print(
        f"{n} invoices, {args.workers} workers: {wall:.1f} s wall, {n / wall:.1f} invoices/s (PDF + UBL each)"
    )
    print(f"  UBL build + XSD + EN 16931: {ubl_s / n * 1000:.1f} ms per invoice (CPU in workers)")
    print(f"  PDF (WeasyPrint):           {pdf_s / n * 1000:.1f} ms per invoice (CPU in workers)")
    print(f"  output: {size / n / 1024:.0f} KiB per invoice (PDF + UBL)")


def _warm_noop(_: int) -> None:
    return None


if __name__ == "__main__":
    main()
