"""Whether the SIP core runs compiled (``scripts/build_native.py``), and never stale.

A compiled module is imported instead of its ``.py`` file; were the source edited after the
build, the process would run the old code. ``check()`` compares each compiled source with the
hash the build recorded and raises ``StaleNativeBuild`` naming the changed modules.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
MANIFEST = PACKAGE / "native.json"


class StaleNativeBuild(RuntimeError):
    """A compiled module's source changed since the build."""


@dataclass(frozen=True, slots=True)
class NativeBuild:
    """The compiled modules (0: the SIP core runs as pure Python)."""

    modules: int

    def describe(self) -> str:
        if not self.modules:
            return "SIP core: pure Python (bash scripts/install compiles it)"
        return f"SIP core: compiled ({self.modules} modules)"


def source_hash(path: Path) -> str:
    """The SHA-256 of a source file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(package: Path = PACKAGE) -> NativeBuild:
    """The build in place under ``package`` (its manifest ``native.json``), after checking that no
    compiled module's source changed since."""
    try:
        recorded: dict[str, str] = json.loads((package / MANIFEST.name).read_text())
    except FileNotFoundError:
        if next(package.rglob("*.so"), None) is not None:
            raise StaleNativeBuild(
                "compiled modules without the build's manifest: run `bash scripts/install`"
            ) from None
        return NativeBuild(0)
    root = package.parent
    changed = [
        name
        for name, digest in recorded.items()
        if not (root / name).exists() or source_hash(root / name) != digest
    ]
    if changed:
        shown = ", ".join(sorted(changed)[:5]) + (" ..." if len(changed) > 5 else "")
        raise StaleNativeBuild(
            f"{len(changed)} compiled module(s) changed since the build ({shown}): "
            "run `bash scripts/install` to compile them again, "
            "or `.venv/bin/python scripts/build_native.py --clean` to run the Python sources"
        )
    return NativeBuild(len(recorded))


BUILD = check()
"""Checked once, when ``nuage.sip`` is first imported (its first import), before any compiled module."""
