"""Migrations and first starts raced by several processes on one empty database (issue #13):
a deployment starts N replicas at once, and each may run `idgate migrate` first."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import httpx
import pytest
from faults_support import Server, browser, redeem, seed, sign_in  # type: ignore[import-not-found]
from jwcrypto import jwk, jwt

from idgate.storage.sql import create_engine
from idgate.storage.sql.engine import schema_is_current

pytestmark = pytest.mark.slow

PROCESSES = 4


def migrate_processes(database_url: str, count: int) -> list[subprocess.CompletedProcess[str]]:
    """`idgate migrate` in `count` processes started together; their results."""
    env = {**os.environ, "IDGATE_DATABASE_URL": database_url}
    # A fixed argv of this interpreter and idgate's own CLI, no shell.
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "idgate", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for process in started:
        out, err = process.communicate(timeout=90)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def is_current(database_url: str) -> bool:
    async def check() -> bool:
        engine = create_engine(database_url)
        try:
            return await schema_is_current(engine)
        finally:
            await engine.dispose()

    return asyncio.run(check())


def test_migrate_run_by_several_processes_at_once_migrates_once(empty_database_url: str) -> None:
    results = migrate_processes(empty_database_url, PROCESSES)
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
    said = sorted(result.stdout.strip() for result in results)
    assert said == ["idgate: schema already up to date"] * (PROCESSES - 1) + [
        "idgate: schema migrated"
    ], said
    assert is_current(empty_database_url)
    # And once more, on its own: nothing to do.
    (again,) = migrate_processes(empty_database_url, 1)
    assert again.stdout.strip() == "idgate: schema already up to date", again.stderr


def test_serve_started_by_several_processes_on_an_empty_database(empty_database_url: str) -> None:
    servers = [Server(empty_database_url) for _ in range(3)]
    for server in servers:  # one issuer, as replicas behind a load balancer
        server.env["IDGATE_ISSUER"] = servers[0].url
    failures: list[BaseException] = []

    def start(server: Server) -> None:
        try:
            server.start(timeout=60)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not failures, failures
        assert is_current(empty_database_url)
        client = seed(empty_database_url, servers[0].url, first_party=True)
        jwks = [httpx.get(f"{server.url}/jwks").json() for server in servers]
        assert all(doc == jwks[0] for doc in jwks), jwks
        # Whichever replica signed it, every replica's JWKS verifies it.
        for server in servers:
            with browser(server) as person:
                id_token = redeem(person, client, sign_in(person, client)).json()["id_token"]
            for doc in jwks:
                jwt.JWT(jwt=id_token, key=jwk.JWKSet.from_json(httpx.Response(200, json=doc).text))
    finally:
        outputs = [server.stop() for server in servers if server.process is not None]
    for code, output in outputs:
        assert code == 0, output
        assert "Traceback" not in output, output
