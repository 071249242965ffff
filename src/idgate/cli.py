"""`idgate serve | migrate | user … | client … | keys …`.

Settings come from flags, `IDGATE_*` environment variables and an optional TOML file
(`--config`), flags winning. Every failure is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from idgate.config import ConfigError, Settings, load_settings
from idgate.crypto.errors import CryptoError
from idgate.observability.logs import logging_config
from idgate.observability.multiprocess import MULTIPROCESS_DIR_ENV, shared_metrics_directory
from idgate.observability.tracing import tracing_available
from idgate.protocol.errors import OAuthError
from idgate.provider import Provider
from idgate.provider.accounts import AccountError, parse_claim_assignment
from idgate.provider.key_timings import key_timings
from idgate.provider.keys import RotationConflict, RotationResult
from idgate.storage.base import AlreadyExists, DatabaseUnavailable
from idgate.storage.sql import InvalidDatabaseUrl, UnknownSchema, create_engine, migrate

T = TypeVar("T")


class Failure(click.ClickException):
    def show(self, file: Any = None) -> None:
        click.echo(f"idgate: error: {self.format_message()}", err=True)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except DatabaseUnavailable as exc:
        raise Failure(
            f"cannot reach the database{_driver_reason(exc)}; check IDGATE_DATABASE_URL"
        ) from None
    except (
        ConfigError,
        InvalidDatabaseUrl,
        UnknownSchema,
        AccountError,
        AlreadyExists,
        CryptoError,
    ) as exc:
        raise Failure(str(exc)) from None
    except OAuthError as exc:
        raise Failure(exc.description or exc.error) from None


def _driver_reason(exc: BaseException) -> str:
    """What the driver said at the bottom of the chain ("…rejected SSL upgrade"), as ": …".

    Drivers name hosts, users and files there, never passwords."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = str(exc).strip().splitlines()
    return f": {lines[0]}" if lines else ""


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    try:
        return load_settings(config_file=ctx.obj["config"], overrides=overrides)
    except ConfigError as exc:
        raise Failure(str(exc)) from None


async def _with_provider(settings: Settings, action: Callable[[Provider], Awaitable[T]]) -> T:
    provider = await Provider.open(settings)
    try:
        return await action(provider)
    finally:
        await provider.close()


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@click.group()
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="IDGATE_CONFIG",
    help="A TOML file of settings (IDGATE_CONFIG).",
)
@click.version_option(package_name="idgate")
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """idgate, an OpenID Connect Provider."""
    ctx.obj = {"config": config}


@main.command()
@click.option("--host", help="Address to listen on (IDGATE_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (IDGATE_PORT, default 8080).")
@click.option("--workers", type=int, help="Worker processes (IDGATE_WORKERS, default 1).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the OpenID Provider; migrates an empty database first."""
    settings = _settings(ctx, host=host, port=port, workers=workers)
    if settings.tracing and not tracing_available():
        raise Failure(
            "tracing is on but opentelemetry is not installed: pip install 'idgate[tracing]'"
        )
    # Fail here, with one line, rather than inside every worker's start-up.
    _run(_with_provider(settings, lambda provider: asyncio.sleep(0)))
    with contextlib.ExitStack() as run:
        if settings.metrics and settings.workers > 1:
            # Before anything imports prometheus_client: it picks where values live then.
            run.enter_context(shared_metrics_directory())
        else:
            # One process keeps its values in memory; a directory inherited from elsewhere
            # would mix another run's counts in.
            os.environ.pop(MULTIPROCESS_DIR_ENV, None)
        _serve(settings)


def _serve(settings: Settings) -> None:
    import uvicorn

    from idgate.web.app import SETTINGS_ENV

    os.environ[SETTINGS_ENV] = json.dumps(dataclasses.asdict(settings))
    click.echo(
        f"idgate: serving issuer {settings.issuer} on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker{'s' if settings.workers > 1 else ''})",
        err=True,
    )
    # uvicorn drains, restores the handlers it found and re-raises the signal it caught:
    # make those handlers a clean exit, so SIGTERM/SIGINT end with status 0 and no traceback.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(
        "idgate.web.app:create_served_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        # uvicorn would believe X-Forwarded-* from 127.0.0.1 by default; idgate decides
        # itself, from `trusted_proxies` only (web/proxies.py).
        proxy_headers=False,
        forwarded_allow_ips=[],
        server_header=False,
        # uvicorn's access log prints query strings (codes, ID Token hints): idgate logs its own.
        access_log=False,
        log_config=logging_config(settings.log_level, settings.log_format),
        timeout_graceful_shutdown=10,
    )


def _exit_cleanly(signum: int, frame: object) -> None:
    sys.exit(0)


@main.command("migrate")
@click.pass_context
def migrate_command(ctx: click.Context) -> None:
    """Bring the database schema up to date (safe to run again)."""
    settings = _settings(ctx)

    async def run() -> bool:
        engine = create_engine(settings.database_url)
        try:
            return await migrate(engine)
        finally:
            await engine.dispose()

    applied = _run(run())
    click.echo("idgate: schema migrated" if applied else "idgate: schema already up to date")


# --- users ----------------------------------------------------------------------------------


@main.group()
def user() -> None:
    """Manage local accounts."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise Failure("password must not be empty")
    return password


def _claims(assignments: tuple[str, ...]) -> dict[str, Any]:
    try:
        return dict(parse_claim_assignment(a) for a in assignments)
    except AccountError as exc:
        raise Failure(str(exc)) from None


@user.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--claim", "claims", multiple=True, metavar="NAME=VALUE", help="Set a claim.")
@click.pass_context
def user_add(
    ctx: click.Context, username: str, password_stdin: bool, claims: tuple[str, ...]
) -> None:
    """Add an account."""
    settings = _settings(ctx)
    values = _claims(claims)
    password = _read_password(password_stdin)
    account = _run(_with_provider(settings, lambda p: p.accounts.add(username, password, values)))
    _print_json({"username": account.username, "sub": account.subject, "claims": account.claims})


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    """List accounts."""
    accounts = _run(_with_provider(_settings(ctx), lambda p: p.accounts.list()))
    _print_json(
        [
            {"username": a.username, "sub": a.subject, "disabled": a.disabled, "claims": a.claims}
            for a in accounts
        ]
    )


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def user_passwd(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Set an account's password."""
    settings = _settings(ctx)
    password = _read_password(password_stdin)
    _run(_with_provider(settings, lambda p: p.accounts.set_password(username, password)))
    click.echo(f"idgate: password of {username} changed")


@user.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@click.pass_context
def user_disable(ctx: click.Context, username: str, enable: bool) -> None:
    """Disable an account (it can no longer log in)."""
    _run(_with_provider(_settings(ctx), lambda p: p.accounts.set_disabled(username, not enable)))
    click.echo(f"idgate: {username} {'enabled' if enable else 'disabled'}")


@user.command("set-claim")
@click.argument("username")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
@click.pass_context
def user_set_claim(ctx: click.Context, username: str, assignments: tuple[str, ...]) -> None:
    """Set claims of an account; VALUE is JSON when it parses as JSON."""
    values = _claims(assignments)
    account = _run(
        _with_provider(_settings(ctx), lambda p: p.accounts.set_claims(username, values))
    )
    _print_json({"username": account.username, "sub": account.subject, "claims": account.claims})


# --- clients --------------------------------------------------------------------------------


@main.group()
def client() -> None:
    """Manage registered clients (RPs)."""


def _metadata_document(
    metadata_file: str | None,
    name: str | None,
    redirect_uris: tuple[str, ...],
    response_types: tuple[str, ...],
    grant_types: tuple[str, ...],
    auth_method: str | None,
    first_party: bool,
) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if metadata_file is not None:
        try:
            text = sys.stdin.read() if metadata_file == "-" else Path(metadata_file).read_text()
            doc = json.loads(text)
        except OSError as exc:
            raise Failure(f"cannot read {metadata_file}: {exc.strerror}") from None
        except ValueError:
            raise Failure(f"{metadata_file} is not a JSON document") from None
        if not isinstance(doc, dict):
            raise Failure("client metadata must be a JSON object")
    flags: dict[str, Any] = {
        "client_name": name,
        "redirect_uris": list(redirect_uris) or None,
        "response_types": list(response_types) or None,
        "grant_types": list(grant_types) or None,
        "token_endpoint_auth_method": auth_method,
        "first_party": first_party or None,
    }
    doc.update({k: v for k, v in flags.items() if v is not None})
    return doc


@client.command("add")
@click.option("--name", help="client_name shown to End-Users.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="A redirect URI (repeat).")
@click.option("--response-type", "response_types", multiple=True, help='e.g. "code id_token".')
@click.option("--grant-type", "grant_types", multiple=True, help="A grant type (repeat).")
@click.option(
    "--auth-method",
    type=click.Choice(
        [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none",
        ]
    ),
    help="token_endpoint_auth_method (default client_secret_basic).",
)
@click.option("--first-party", is_flag=True, help="Trusted: End-Users are not asked to consent.")
@click.option("--client-id", help="Choose the client_id instead of a random one.")
@click.option(
    "--metadata", "metadata_file", metavar="FILE", help="RFC 7591 metadata JSON (- for stdin)."
)
@click.pass_context
def client_add(
    ctx: click.Context,
    name: str | None,
    redirect_uris: tuple[str, ...],
    response_types: tuple[str, ...],
    grant_types: tuple[str, ...],
    auth_method: str | None,
    first_party: bool,
    client_id: str | None,
    metadata_file: str | None,
) -> None:
    """Register a client; prints it as JSON, with its secret when it has one."""
    settings = _settings(ctx)
    doc = _metadata_document(
        metadata_file, name, redirect_uris, response_types, grant_types, auth_method, first_party
    )
    created = _run(
        _with_provider(
            settings, lambda p: p.registration.register_trusted(doc, client_id=client_id)
        )
    )
    _print_json(created.to_dict())


def _client_summary(c: Any) -> dict[str, Any]:
    return {"client_id": c.client_id, "client_id_issued_at": c.created_at, **c.metadata.to_dict()}


@client.command("token")
@click.option("--ttl", type=int, help="Seconds until it expires (default: never).")
@click.pass_context
def client_token(ctx: click.Context, ttl: int | None) -> None:
    """Issue an initial access token for dynamic registration (registration = "token")."""
    token = _run(
        _with_provider(_settings(ctx), lambda p: p.registration.issue_initial_access_token(ttl))
    )
    click.echo(token)


@client.command("list")
@click.pass_context
def client_list(ctx: click.Context) -> None:
    """List clients."""
    clients = _run(_with_provider(_settings(ctx), lambda p: p.clients.list()))
    _print_json([_client_summary(c) for c in clients])


@client.command("show")
@click.argument("client_id")
@click.pass_context
def client_show(ctx: click.Context, client_id: str) -> None:
    """Show one client's metadata (never its secret)."""
    found = _run(_with_provider(_settings(ctx), lambda p: p.clients.get(client_id)))
    if found is None:
        raise Failure(f"no client {client_id!r}")
    _print_json(_client_summary(found))


@client.command("remove")
@click.argument("client_id")
@click.pass_context
def client_remove(ctx: click.Context, client_id: str) -> None:
    """Remove a client."""
    if not _run(_with_provider(_settings(ctx), lambda p: p.clients.remove(client_id))):
        raise Failure(f"no client {client_id!r}")
    click.echo(f"idgate: client {client_id} removed")


# --- keys -----------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Manage signing keys."""


@keys.command("list")
@click.pass_context
def keys_list(ctx: click.Context) -> None:
    """List signing keys and their states (public parts only)."""
    stored = _run(_with_provider(_settings(ctx), lambda p: p.keys.list()))
    _print_json(
        [
            {
                "kid": k.kid,
                "alg": k.alg,
                "state": k.state,
                "created_at": k.created_at,
                "activated_at": k.activated_at,
                "retired_at": k.retired_at,
            }
            for k in stored
        ]
    )


@keys.command("rotate")
@click.option("--alg", default="RS256", show_default=True, help="Which algorithm's key.")
@click.option(
    "--now",
    "at_once",
    is_flag=True,
    help="Rotate even if the next key is not yet published long enough (a leaked key).",
)
@click.pass_context
def keys_rotate(ctx: click.Context, alg: str, at_once: bool) -> None:
    """Promote the next key to current, retire the current one, and make a new next key.

    Without --now, only once the next key has been published for jwks_max_age +
    key_reload_interval (publishing one first if there is none), so that no RP or process
    lacks it when it starts signing.
    """
    settings = _settings(ctx)

    async def rotate(provider: Provider) -> RotationResult | int:
        if not at_once:
            wait = await provider.keys.seconds_until_next_may_sign(alg)
            if wait > 0:
                return wait
        return await provider.keys.rotate(alg)

    try:
        result = _run(_with_provider(settings, rotate))
    except RotationConflict as exc:
        raise Failure(f"{exc}; run `idgate keys list` and try again if still needed") from None
    if isinstance(result, int):
        raise Failure(
            f"the next {alg} key may sign in {result} s, once every RP and process can have "
            "seen it (jwks_max_age + key_reload_interval): run this again then, or add --now "
            "to rotate at once"
        )
    _print_json(dataclasses.asdict(result))
    publish_lead = key_timings(settings).publish_lead
    if result.published_for < publish_lead:
        click.echo(
            f"idgate: warning: the new key was published {result.published_for} s before it "
            f"signs (less than jwks_max_age + key_reload_interval = {publish_lead} s): RPs with "
            "an older cached JWKS must fetch it again to verify the new tokens",
            err=True,
        )


@keys.command("add")
@click.option(
    "--alg", required=True, type=click.Choice(["RS256", "PS256", "ES256", "EdDSA"]), help="Alg."
)
@click.pass_context
def keys_add(ctx: click.Context, alg: str) -> None:
    """Add a signing key for another algorithm (or a next key for an existing one)."""
    key = _run(_with_provider(_settings(ctx), lambda p: p.keys.add(alg)))
    _print_json({"kid": key.kid, "alg": key.alg, "state": key.state})


# --- the client side: the demo app and the selftest -----------------------------------------


@main.command()
@click.option("--port", type=int, default=9090, show_default=True, help="Port (on 127.0.0.1).")
@click.option("--issuer", help="The OP to sign in with (default: this configuration's issuer).")
@click.option("--client-id", help="Use this registered client instead of registering one.")
@click.option(
    "--client-secret", envvar="IDGATE_DEMO_CLIENT_SECRET", help="Its secret (IDGATE_DEMO_…)."
)
@click.pass_context
def demo(
    ctx: click.Context,
    port: int,
    issuer: str | None,
    client_id: str | None,
    client_secret: str | None,
) -> None:
    """Run the demo client app: the hybrid flow step by step, at http://127.0.0.1:PORT."""
    import httpx
    import uvicorn

    from idgate.client import ClientError, RelyingParty, fetch_provider_metadata
    from idgate.client.demo import DEMO_CLIENT_ID, create_demo_app, obtain_credentials

    settings = _settings(ctx)
    target = (issuer or settings.issuer).rstrip("/")
    base_url = f"http://127.0.0.1:{port}"

    async def prepare() -> tuple[Any, str]:
        async with httpx.AsyncClient(timeout=10, trust_env=False) as http:

            async def register_locally(document: dict[str, Any]) -> tuple[str, str | None]:
                # Only into the database of the OP at `target`: its keys must be in the JWKS.
                metadata = await fetch_provider_metadata(http, target)
                published = {
                    k.get("kid") for k in (await http.get(metadata.jwks_uri)).json()["keys"]
                }

                async def action(p: Provider) -> tuple[str, str | None]:
                    ours = {k["kid"] for k in (await p.keys.keyring()).jwks()["keys"]}
                    if not ours & published:
                        raise Failure("this configuration's database is not the one of the OP")
                    await p.clients.remove(DEMO_CLIENT_ID)
                    created = await p.registration.register_trusted(
                        document, client_id=DEMO_CLIENT_ID
                    )
                    return created.client.client_id, created.client_secret

                return await _with_provider(settings, action)

            return await obtain_credentials(
                http,
                target,
                base_url,
                client_id=client_id,
                client_secret=client_secret,
                register_locally=register_locally if target == settings.issuer else None,
            )

    try:
        credentials, how = _run(prepare())
    except ClientError as exc:
        raise Failure(str(exc)) from None
    rp = RelyingParty(target, credentials)
    click.echo(f"idgate demo: OP {target}; {how}", err=True)
    click.echo(f"idgate demo: open {base_url} in a browser", err=True)
    uvicorn.run(
        create_demo_app(rp, base_url=base_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


@main.command()
@click.option("--issuer", help="The OP to check (default: this configuration's issuer).")
@click.option("--username", help="A test account for the sign-in.")
@click.option("--password-stdin", is_flag=True, help="Read its password from standard input.")
@click.option("--client-id", help="A registered client (needed unless registration is open).")
@click.option(
    "--client-secret", envvar="IDGATE_SELFTEST_CLIENT_SECRET", help="Its secret (IDGATE_SELF…)."
)
@click.option("--redirect-uri", help="A redirect URI of that client (never contacted).")
@click.pass_context
def selftest(
    ctx: click.Context,
    issuer: str | None,
    username: str | None,
    password_stdin: bool,
    client_id: str | None,
    client_secret: str | None,
    redirect_uri: str | None,
) -> None:
    """Check a live OP end to end with the RP library; exits non-zero when a check fails."""
    from idgate.client.selftest import DEFAULT_REDIRECT_URI, run_selftest

    target = issuer or _settings(ctx).issuer
    password: str | None = None
    if username is not None:
        password = (
            _read_password(True)
            if password_stdin
            else click.prompt("Password", hide_input=True, err=True)
        )
    checklist = asyncio.run(
        run_selftest(
            target,
            username=username,
            password=password,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri or DEFAULT_REDIRECT_URI,
        )
    )
    click.echo(checklist.render())
    if not checklist.ok:
        sys.exit(1)
