"""The architecture rule of idgate.crypto: only crypto/jwt.py imports the JOSE library."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "idgate"
JOSE_LIBRARIES = {"joserfc", "jose", "jwt", "jwcrypto", "authlib"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_crypto_jwt_imports_a_jose_library() -> None:
    importers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if _imported_roots(path) & JOSE_LIBRARIES
    )
    assert importers == ["crypto/jwt.py"]


def test_crypto_public_api_is_complete() -> None:
    import idgate.crypto

    for name in idgate.crypto.__all__:
        assert hasattr(idgate.crypto, name), name
    assert "sign_jwt" in idgate.crypto.__all__
