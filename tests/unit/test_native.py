"""The compiled SIP core is never stale: a source changed since the build stops the process."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nuage.native import NativeBuild, StaleNativeBuild, check


def package(tmp_path: Path, sources: dict[str, str]) -> Path:
    root = tmp_path / "nuage"
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    root.mkdir(exist_ok=True)
    return root


def built(root: Path, names: list[str]) -> None:
    """What the build records: each compiled source's hash, and an extension beside it."""
    hashes = {name: hashlib.sha256((root.parent / name).read_bytes()).hexdigest() for name in names}
    (root / "native.json").write_text(json.dumps(hashes))
    for name in names:
        (root.parent / name).with_suffix(".cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")


def test_without_a_build_the_sip_core_is_pure_python(tmp_path: Path) -> None:
    root = package(tmp_path, {"nuage/sip/a.py": "A = 1\n"})
    assert check(root) == NativeBuild(0)
    assert "pure Python" in check(root).describe()


def test_an_unchanged_build_is_counted(tmp_path: Path) -> None:
    root = package(tmp_path, {"nuage/sip/a.py": "A = 1\n", "nuage/sip/b.py": "B = 2\n"})
    built(root, ["nuage/sip/a.py", "nuage/sip/b.py"])
    assert check(root) == NativeBuild(2)
    assert check(root).describe() == "SIP core: compiled (2 modules)"


def test_a_source_edited_after_the_build_stops_the_process_naming_it(tmp_path: Path) -> None:
    root = package(tmp_path, {"nuage/sip/a.py": "A = 1\n", "nuage/sip/b.py": "B = 2\n"})
    built(root, ["nuage/sip/a.py", "nuage/sip/b.py"])
    (tmp_path / "nuage/sip/b.py").write_text("B = 3\n")
    with pytest.raises(StaleNativeBuild, match=r"1 compiled module.*nuage/sip/b\.py.*scripts/install"):
        check(root)


def test_a_compiled_source_removed_stops_the_process(tmp_path: Path) -> None:
    root = package(tmp_path, {"nuage/sip/a.py": "A = 1\n"})
    built(root, ["nuage/sip/a.py"])
    (tmp_path / "nuage/sip/a.py").unlink()
    with pytest.raises(StaleNativeBuild, match="nuage/sip/a.py"):
        check(root)


def test_extensions_without_the_manifest_are_refused(tmp_path: Path) -> None:
    root = package(tmp_path, {"nuage/sip/a.py": "A = 1\n"})
    built(root, ["nuage/sip/a.py"])
    (root / "native.json").unlink()
    with pytest.raises(StaleNativeBuild, match="manifest"):
        check(root)
