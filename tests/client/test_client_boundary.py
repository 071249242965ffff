"""The RP library stands alone: importing it loads neither the web framework, nor the database
layer, nor the OP's own packages; only the demo app uses Starlette and Jinja2."""

from __future__ import annotations

import json
import subprocess
import sys

import idgate.client

_PROBE = """
import importlib, json, pkgutil, sys
import idgate.client as package
# iter_modules, not walk_packages: walking would import the demo package to look inside it.
names = [
    m.name for m in pkgutil.iter_modules(package.__path__, package.__name__ + ".")
    if m.name != "idgate.client.demo"
]
for name in names:
    importlib.import_module(name)
watched = json.loads(sys.argv[1])
print(json.dumps({"modules": names, "loaded": sorted(w for w in watched if w in sys.modules)}))
"""
FORBIDDEN = (
    "starlette",
    "jinja2",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "idgate.provider",
    "idgate.storage",
    "idgate.web",
)


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


def test_the_library_loads_no_framework_and_no_op_code() -> None:
    probe = _probe(FORBIDDEN)
    assert probe["loaded"] == []
    for module in ("rp", "validation", "callback", "requests", "logout", "selftest"):
        assert f"idgate.client.{module}" in probe["modules"]


def test_the_probe_sees_what_is_loaded() -> None:
    assert _probe(("httpx", "idgate.crypto.jwt", "not_a_module"))["loaded"] == [
        "httpx",
        "idgate.crypto.jwt",
    ]


def test_public_api_is_complete_and_sorted() -> None:
    for name in idgate.client.__all__:
        assert hasattr(idgate.client, name), name
    assert len(set(idgate.client.__all__)) == len(idgate.client.__all__)
    assert "RelyingParty" in idgate.client.__all__
