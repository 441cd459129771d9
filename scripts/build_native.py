"""Compile Nuage's SIP core with mypyc, in place, beside its Python sources.

The typed modules of ``nuage.sip`` (``mypy --strict`` clean) become C extensions, which Python
imports instead of the ``.py`` files next to them: the same code, about 10-20 % less CPU per call
and per REGISTER (issue #22, ``docs/benchmarks.md``). The ``.py`` files stay the source of truth; a manifest
(``src/nuage/native.json``) records the hash of each compiled source, and ``nuage.native`` refuses
to start on a compiled module whose source changed since (run ``bash scripts/install`` again).

    .venv/bin/python scripts/build_native.py               # build (about 2 minutes on 2 cores)
    .venv/bin/python scripts/build_native.py --if-changed  # only if a compiled source changed
    .venv/bin/python scripts/build_native.py --clean  # remove the extensions: pure Python again
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
COMPILED = ("nuage/sip",)
NOT_COMPILED = frozenset(
    {
        # runtime-checked protocols and classes tests or apps subclass stay interpreted
        "nuage/sip/__init__.py",  # checks the build before any compiled module loads
        "nuage/sip/media.py",
        "nuage/sip/memory.py",
        "nuage/sip/memory_transport.py",
        "nuage/sip/b2bua/apps.py",
        "nuage/sip/b2bua/app_offers.py",
    }
)
MANIFEST = SRC / "nuage" / "native.json"


def sources() -> list[Path]:
    """The modules compiled: every module of ``COMPILED`` but the ports and ``NOT_COMPILED``."""
    found = []
    for package in COMPILED:
        for path in sorted((SRC / package).rglob("*.py")):
            relative = path.relative_to(SRC).as_posix()
            if relative not in NOT_COMPILED and not path.name.endswith("ports.py"):
                found.append(path)
    return found


def clean() -> None:
    """Remove every compiled extension under ``src`` and the manifest."""
    for extension in SRC.rglob("*.so"):
        extension.unlink()
    MANIFEST.unlink(missing_ok=True)


def build() -> None:
    # imported here: --clean needs neither
    from mypyc.build import mypycify
    from setuptools import setup

    clean()
    compiled = sources()
    os.environ.setdefault("MYPY_CACHE_DIR", str(ROOT / "build" / "native-mypy-cache"))
    os.chdir(SRC)  # mypyc names modules by their path from here
    setup(
        name="nuage-native",
        packages=[],
        py_modules=[],
        ext_modules=mypycify(
            [path.relative_to(SRC).as_posix() for path in compiled],
            opt_level=os.environ.get("NUAGE_NATIVE_OPT", "3"),
            multi_file=True,  # one C file per module: compiled in parallel
            target_dir=str(ROOT / "build" / "native-c"),
        ),
        script_args=[
            "-q",
            "build_ext",
            "--inplace",
            "-j",
            str(os.cpu_count() or 1),
            "--build-temp",
            str(ROOT / "build" / "native"),
        ],
    )
    MANIFEST.write_text(json.dumps(hashes(compiled), indent=0))


def hashes(paths: list[Path]) -> dict[str, str]:
    """Each source's path under ``src`` and the SHA-256 of its bytes: what ``nuage.native.source_hash``
    computes, written here because importing ``nuage.native`` checks the build at once, and fails
    while the new extensions stand without their manifest."""
    return {path.relative_to(SRC).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def up_to_date() -> bool:
    """Whether the manifest names exactly the modules to compile, each with its current hash."""
    try:
        recorded = json.loads(MANIFEST.read_text())
    except FileNotFoundError:
        return False
    return recorded == hashes(sources())


if __name__ == "__main__":
    if sys.argv[1:] == ["--clean"]:
        clean()
    elif sys.argv[1:] == ["--if-changed"] and up_to_date():
        print("the compiled SIP core is up to date")
    else:
        build()
