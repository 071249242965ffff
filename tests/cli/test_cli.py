"""The `idgate` command, run as a real process on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def idgate(
    database_url: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "IDGATE_DATABASE_URL": database_url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "idgate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_clean_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("idgate: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_users(database_url: str) -> None:
    added = json.loads(
        ok(
            idgate(
                database_url,
                "user",
                "add",
                "alice",
                "--password-stdin",
                "--claim",
                "email=alice@example.com",
                "--claim",
                "email_verified=true",
                "--claim",
                'address={"country": "NL"}',
                "--claim",
                "name=Alice Liddell",
                stdin="s3cret-pass\n",
            )
        )
    )
    assert added["username"] == "alice"
    assert added["claims"] == {
        "email": "alice@example.com",
        "email_verified": True,
        "address": {"country": "NL"},
        "name": "Alice Liddell",
    }
    assert "s3cret" not in json.dumps(added)

    duplicate = idgate(database_url, "user", "add", "alice", "--password-stdin", stdin="x\n")
    assert_clean_failure(duplicate, "alice")

    ok(idgate(database_url, "user", "set-claim", "alice", "age=42", "nickname=al"))
    ok(idgate(database_url, "user", "passwd", "alice", "--password-stdin", stdin="n3w-pass\n"))
    ok(idgate(database_url, "user", "disable", "alice"))
    (listed,) = json.loads(ok(idgate(database_url, "user", "list")))
    assert listed["disabled"] is True
    assert listed["claims"]["age"] == 42
    assert listed["claims"]["nickname"] == "al"
    assert listed["sub"] == added["sub"]
    assert "password" not in json.dumps(listed)

    assert_clean_failure(idgate(database_url, "user", "disable", "nobody"), "nobody")
    assert_clean_failure(idgate(database_url, "user", "set-claim", "alice", "sub=x"), "sub")


def test_clients(database_url: str, tmp_path: Path) -> None:
    added = json.loads(
        ok(
            idgate(
                database_url,
                "client",
                "add",
                "--name",
                "Hybrid RP",
                "--redirect-uri",
                "https://rp.example/cb",
                "--response-type",
                "code id_token",
                "--response-type",
                "code",
            )
        )
    )
    assert added["client_secret"]
    assert len(added["client_secret"]) >= 32
    assert added["response_types"] == ["code id_token", "code"]
    assert added["grant_types"] == ["authorization_code", "implicit"]
    assert added["token_endpoint_auth_method"] == "client_secret_basic"

    metadata = tmp_path / "spa.json"
    metadata.write_text(
        json.dumps(
            {
                "client_name": "SPA",
                "redirect_uris": ["https://spa.example/cb"],
                "token_endpoint_auth_method": "none",
            }
        )
    )
    spa = json.loads(ok(idgate(database_url, "client", "add", "--metadata", str(metadata))))
    assert "client_secret" not in spa
    stdin_client = json.loads(
        ok(
            idgate(
                database_url,
                "client",
                "add",
                "--metadata",
                "-",
                stdin='{"redirect_uris": ["https://x.example/cb"]}',
            )
        )
    )
    listed = json.loads(ok(idgate(database_url, "client", "list")))
    # Listed by creation time, then client_id: clients made in the same second sort by id.
    made = [added, spa, stdin_client]
    assert [c["client_id"] for c in listed] == [
        c["client_id"]
        for c in sorted(made, key=lambda c: (c["client_id_issued_at"], c["client_id"]))
    ]
    assert all("client_secret" not in c for c in listed)
    shown = json.loads(ok(idgate(database_url, "client", "show", spa["client_id"])))
    assert shown["client_name"] == "SPA"

    ok(idgate(database_url, "client", "remove", spa["client_id"]))
    assert_clean_failure(idgate(database_url, "client", "show", spa["client_id"]))
    assert_clean_failure(
        idgate(database_url, "client", "add", "--redirect-uri", "https://rp.example/cb#frag"),
        "fragment",
    )
    assert_clean_failure(
        idgate(database_url, "client", "add", "--metadata", "-", stdin="not json"), "JSON"
    )


def test_keys(database_url: str) -> None:
    (first,) = json.loads(ok(idgate(database_url, "keys", "list")))
    assert first["alg"] == "RS256"
    assert first["state"] == "current"
    # The next key may sign 2 s after it was published (JWKS not cached, keys reloaded every 2 s).
    short_lead = {"IDGATE_JWKS_MAX_AGE": "0", "IDGATE_KEY_RELOAD_INTERVAL": "2"}
    # No next key was published yet: one is now, and the rotation waits for it to be seen.
    refused = idgate(database_url, "keys", "rotate", env=short_lead)
    assert_clean_failure(refused, "may sign in", "--now")
    (upcoming,) = [k for k in json.loads(ok(idgate(database_url, "keys", "list"))) if k != first]
    assert upcoming["state"] == "next"
    time.sleep(2.1)  # whole seconds: at least two have passed since it was published
    waited = idgate(database_url, "keys", "rotate", env=short_lead)
    rotated = json.loads(ok(waited))
    assert not waited.stderr
    assert rotated["retired"] == first["kid"]
    assert rotated["activated"] == upcoming["kid"]
    # --now rotates at once (a leaked key), and says what that costs.
    urgent = idgate(database_url, "keys", "rotate", "--now")
    again = json.loads(ok(urgent))
    assert (again["retired"], again["activated"]) == (rotated["activated"], rotated["next"])
    assert "warning: the new key was published" in urgent.stderr
    states = {k["kid"]: k["state"] for k in json.loads(ok(idgate(database_url, "keys", "list")))}
    assert states[first["kid"]] == states[rotated["activated"]] == "retired"
    assert states[again["activated"]] == "current"
    assert states[again["next"]] == "next"
    added = json.loads(ok(idgate(database_url, "keys", "add", "--alg", "ES256")))
    assert added["state"] == "current"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_libpq_sslmode_in_the_database_url(database_url: str) -> None:
    # The test server has no TLS: `prefer` falls back to plain text, `require` cannot connect.
    assert "already up to date" in ok(idgate(f"{database_url}?sslmode=prefer", "migrate"))
    (key,) = json.loads(ok(idgate(f"{database_url}?sslmode=disable", "keys", "list")))
    assert key["state"] == "current"
    for command in (("keys", "list"), ("migrate",), ("serve", "--port", "1")):
        refused = idgate(f"{database_url}?sslmode=require", *command)
        assert_clean_failure(refused, "cannot reach the database: ", "SSL")


def test_migrate_is_idempotent(database_url: str) -> None:
    assert "already up to date" in ok(idgate(database_url, "migrate"))


def test_migrate_creates_a_new_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert "schema migrated" in ok(idgate(url, "migrate"))
    assert "already up to date" in ok(idgate(url, "migrate"))


def test_a_schema_newer_than_this_idgate_is_refused(database_url: str) -> None:
    import asyncio

    from idgate.storage.sql.db import sql
    from idgate.storage.sql.engine import open_database

    async def stamp_future() -> None:
        db = await open_database(database_url)
        try:
            await db.run(sql("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        finally:
            await db.close()

    async def stamped() -> list[str]:
        db = await open_database(database_url)
        try:
            rows = await db.all(sql("SELECT version_num FROM alembic_version"))
            return [row["version_num"] for row in rows]
        finally:
            await db.close()

    asyncio.run(stamp_future())
    for command in (("serve", "--port", "1"), ("migrate",), ("user", "list")):
        assert_clean_failure(idgate(database_url, *command), "9999_from_the_future", "newer")
    # Refused before anything ran: not stamped back, not migrated "down" to what it knows.
    assert asyncio.run(stamped()) == ["9999_from_the_future"]


def test_config_file_and_environment(tmp_path: Path) -> None:
    db = tmp_path / "from-file.db"
    config = tmp_path / "idgate.toml"
    config.write_text(f'database_url = "sqlite:///{db}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "idgate", "--config", str(config), "migrate"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("IDGATE_")},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert db.exists()

    config.write_text("no_such_setting = 1\n")
    bad = idgate(f"sqlite:///{db}", "--config", str(config), "migrate")
    assert_clean_failure(bad, "no_such_setting")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://127.0.0.1/db", "unsupported database"),
        ("not a url", "malformed"),
        ("postgresql://127.0.0.1:1/nowhere", "cannot reach the database"),
        ("sqlite:////nonexistent-dir/x/y.db", "cannot reach the database"),
        ("postgresql://127.0.0.1/db?sslmode=on", "sslmode='on'"),
        ("postgresql://127.0.0.1/db?ssl=require", "'ssl' is not supported"),
        ("postgresql://127.0.0.1/db?connect_timeout=5", "'connect_timeout' is not supported"),
    ],
)
def test_bad_database_url_is_one_clear_line(url: str, needle: str) -> None:
    assert_clean_failure(idgate(url, "serve", "--port", "1"), needle)


def test_plain_http_issuer_off_this_machine_is_refused(tmp_path: Path) -> None:
    # HTTP-09: production over plain http; loopback stays open for development.
    url = f"sqlite:///{tmp_path / 'http.db'}"
    refused = idgate(url, "serve", "--port", "1", env={"IDGATE_ISSUER": "http://op.example"})
    assert_clean_failure(refused, "plain http", "allow_insecure_issuer")
    wide = idgate(url, "serve", "--host", "0.0.0.0", "--port", "1")
    assert_clean_failure(wide, "plain http")
    allowed = idgate(
        url,
        "migrate",
        env={"IDGATE_ISSUER": "http://op.example", "IDGATE_ALLOW_INSECURE_ISSUER": "1"},
    )
    assert allowed.returncode == 0, allowed.stderr
    assert idgate(url, "migrate", env={"IDGATE_ISSUER": "http://localhost:8080"}).returncode == 0


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = idgate(f"sqlite:///{tmp_path / 'x.db'}", "migrate", env={"IDGATE_CODE_TTL": "soon"})
    assert_clean_failure(result, "code_ttl")


def test_client_token_allows_registration(database_url: str) -> None:
    import asyncio

    from idgate.testing import open_test_provider

    token = ok(idgate(database_url, "client", "token", "--ttl", "600")).strip()
    assert len(token) >= 43

    async def register(bearer: str) -> str:
        provider = await open_test_provider(database_url, registration="token")
        try:
            created = await provider.registration.register(
                {"redirect_uris": ["https://rp.example/cb"]}, bearer=bearer
            )
            return created.client.client_id
        finally:
            await provider.close()

    assert asyncio.run(register(token))


def test_private_keys_are_sealed_with_the_secret_key(database_url: str) -> None:
    import asyncio

    from idgate.storage.sql import connect_storage

    secret = {"IDGATE_SECRET_KEY": "a-long-operator-secret-0123456789abcdef"}
    ok(idgate(database_url, "keys", "list", env=secret))

    async def stored() -> list[str]:
        storage = await connect_storage(database_url, migrate_schema=False)
        try:
            return [key.private_sealed for key in await storage.keys.list()]
        finally:
            await storage.close()

    (sealed,) = asyncio.run(stored())
    assert sealed.startswith("aesgcm1:")
    assert '"d"' not in sealed
    assert_clean_failure(idgate(database_url, "keys", "list"), "IDGATE_SECRET_KEY")
    wrong = {"IDGATE_SECRET_KEY": "another-secret-0123456789abcdef-xyz"}
    assert_clean_failure(idgate(database_url, "keys", "list", env=wrong), "IDGATE_SECRET_KEY")
