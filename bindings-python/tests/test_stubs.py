"""The hand-written stubs match the native module: mypy.stubtest (signatures, presence) and a
plain comparison of the public names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import breakwater
import breakwater._breakwater as native

STUB = Path(breakwater.__file__).with_name("_breakwater.pyi")


def stub_names() -> set[str]:
    tree = ast.parse(STUB.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_stub_names_match_the_module() -> None:
    runtime = {n for n in dir(native) if not n.startswith("__") or n == "__version__"}
    stubbed = stub_names()
    assert runtime - stubbed == set(), "in the module, missing from the stub"
    assert stubbed - runtime == set(), "in the stub, missing from the module"


def test_package_exports_everything() -> None:
    public = {n for n in dir(native) if not n.startswith("_")}
    assert public <= set(breakwater.__all__)
    for name in breakwater.__all__:
        assert hasattr(breakwater, name), name


def test_stubtest(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "breakwater._breakwater"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
