"""The protocol core imports only the standard library and itself (STYLE.md principle 1, 4).

Two checks: a fresh interpreter imports every module of `idgate.protocol` and reports which
forbidden packages ended up in `sys.modules` (catches transitive imports); and a scan of the
source for import statements anywhere, including inside functions (catches lazy imports).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import idgate.protocol

FORBIDDEN = (
    "starlette",
    "sqlalchemy",
    "joserfc",
    "httpx",
    "jinja2",
    "aiosqlite",
    "asyncpg",
    "prometheus_client",
    "opentelemetry",
)
PACKAGE_DIR = Path(idgate.protocol.__file__).parent
SOURCES = sorted(PACKAGE_DIR.rglob("*.py"))

_PROBE = """
import importlib, json, pkgutil, sys
import idgate.protocol as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
watched = json.loads(sys.argv[1])
print(json.dumps({"modules": names, "loaded": sorted(w for w in watched if w in sys.modules)}))
"""


def _probe(watched: tuple[str, ...]) -> dict[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(watched)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    probe: dict[str, list[str]] = json.loads(result.stdout)
    return probe


def test_importing_the_protocol_core_loads_no_framework() -> None:
    probe = _probe(FORBIDDEN)
    assert probe["loaded"] == []
    for module in ("authorize", "response_modes", "pkce", "id_token", "interaction", "scopes"):
        assert f"idgate.protocol.{module}" in probe["modules"]


def test_the_probe_sees_loaded_modules() -> None:
    # The probe itself must be able to fail: stdlib modules the core does load are reported.
    assert _probe(("json", "hashlib", "not_a_module"))["loaded"] == ["hashlib", "json"]


def _foreign_imports(source: str, *, package: str = "idgate.protocol") -> list[str]:
    """Top-level modules imported anywhere in `source` that are neither stdlib nor `package`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            if top == "__future__" or top in sys.stdlib_module_names:
                continue
            if name == package or name.startswith(package + "."):
                continue
            found.append(name)
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_sources_import_only_stdlib_and_the_core(path: Path) -> None:
    assert _foreign_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import starlette",
        "def f():\n    import joserfc.jwt\n",
        "from sqlalchemy import select",
        "from idgate.storage import base",
        "import idgate.web.app",
    ],
)
def test_the_scan_sees_forbidden_imports(source: str) -> None:
    assert _foreign_imports(source) != []
