"""Settings: defaults, then an optional TOML file, then `IDGATE_*` environment, then flags.

Every setting has one name; the TOML key, the environment variable (`IDGATE_` + upper case) and
the CLI flag (where there is one) all use it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints
from urllib.parse import urlsplit

RegistrationPolicy = Literal["off", "open", "token"]
LogFormat = Literal["text", "json"]
# Which forwarding header the trusted proxies set: de-facto X-Forwarded-For/-Proto, or RFC 7239.
ForwardedHeader = Literal["x-forwarded", "forwarded"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_DATABASE_URL = "sqlite:///idgate.db"
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is meant for the operator."""


@dataclass(frozen=True)
class Settings:
    issuer: str = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    database_url: str = DEFAULT_DATABASE_URL
    registration: RegistrationPolicy = "off"
    # Encrypts private signing keys at rest; also read from `secret_key_file`.
    secret_key: str | None = field(default=None, repr=False)
    secret_key_file: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    code_ttl: int = 60
    access_token_ttl: int = 3600
    # `aud` of JWT access tokens (RFC 9068 §3: the default resource); None means the issuer.
    access_token_audience: str | None = None
    id_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    refresh_grace_period: int = 0
    session_ttl: int = 14 * 24 * 3600
    interaction_ttl: int = 600
    allow_plain_pkce: bool = False
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    # Dynamic registrations (and client configuration updates) per client IP per window,
    # and from all IPs together (0: no limit); over it, 429 (SECURITY.md DCR-11).
    registration_rate_limit: int = 30
    registration_global_rate_limit: int = 0
    registration_rate_window: int = 60
    # Introspection requests per authenticated client per window, and four times that per IP
    # (0: no limit); over it, 429 (SECURITY.md RES-03).
    introspection_rate_limit: int = 60000
    introspection_rate_window: int = 60
    # Seconds between background purges of expired rows (each process, with jitter).
    cleanup_interval: int = 300
    # Seconds between scheduled signing-key rotations, once cluster-wide; 0 = manual only.
    key_rotation_interval: int = 0
    # Each process reloads the signing keys from the database at least this often.
    key_reload_interval: int = 30
    # How long RPs may cache /jwks (its Cache-Control max-age). A next key is published for
    # at least this plus `key_reload_interval` before it signs.
    jwks_max_age: int = 300
    # PEM CA certificates trusted for idgate's own https requests (jwks_uri,
    # sector_identifier_uri), in addition to the default bundle.
    outbound_ca_file: str | None = None
    # Lets idgate fetch jwks_uri, sector_identifier_uri and request_uri documents from
    # loopback, private and link-local addresses: for local development only.
    allow_private_fetch: bool = False
    # Lets the issuer be plain http on a host other than loopback: for test set-ups only.
    allow_insecure_issuer: bool = False
    log_level: str = "info"
    log_format: LogFormat = "text"
    # Reverse proxies (IPs or CIDR networks) whose forwarding headers are believed: only a
    # request whose direct peer is one of them may say who the client is and over which scheme.
    trusted_proxies: tuple[str, ...] = ()
    forwarded_header: ForwardedHeader = "x-forwarded"
    # /metrics (Prometheus): off unless the operator turns it on; then only for clients whose
    # address is in `metrics_allow` and, when `metrics_token` is set, that present it as a
    # Bearer token.
    metrics: bool = False
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    metrics_token: str | None = field(default=None, repr=False)
    # OpenTelemetry spans per request, when the opentelemetry packages are installed.
    tracing: bool = False
    # The look of the pages (docs/configuration.md, "Pages"): a folder overriding templates,
    # the stylesheet and translations; a product name, a logo and colours.
    theme_dir: str | None = None
    product_name: str = "idgate"
    logo_url: str | None = None
    accent_color: str | None = None
    accent_color_dark: str | None = None

    def __post_init__(self) -> None:
        # Lists arrive from TOML and from the JSON hand-over to worker processes: keep the
        # settings immutable (and hashable) all the same.
        for name in _LIST_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    @property
    def issuer_is_https(self) -> bool:
        return self.issuer.startswith("https://")

    def endpoint(self, path: str) -> str:
        return self.issuer.rstrip("/") + path


_FIELD_TYPES = get_type_hints(Settings)
_FIELDS = {f.name for f in dataclasses.fields(Settings)}
_LIST_FIELDS = tuple(name for name, kind in _FIELD_TYPES.items() if kind == tuple[str, ...])


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELD_TYPES[name]
    if name in _LIST_FIELDS:
        return _string_list(name, value)
    try:
        if kind is int:
            return int(value)
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        choices = get_args(kind)
        if choices and all(isinstance(c, str) for c in choices) and value not in choices:
            raise ValueError(value)
        return None if value is None else str(value)
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a valid value") from None


def _string_list(name: str, value: Any) -> tuple[str, ...]:
    """A list from TOML, or a string of items separated by commas or spaces (environment)."""
    if isinstance(value, str):
        return tuple(item for item in re.split(r"[\s,]+", value) if item)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigError(f"{name}: {value!r} is not a list of strings")


def load_settings(
    *,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build settings from the layers, lowest first; `overrides` are CLI flags (None = unset)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            with open(config_file, "rb") as fh:
                doc = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
        section = doc.get("idgate", doc)
        unknown = set(section) - _FIELDS
        if unknown:
            raise ConfigError(f"unknown setting(s) in {config_file}: {', '.join(sorted(unknown))}")
        values.update(section)
    for name in _FIELDS:
        env_value = environ.get(f"IDGATE_{name.upper()}")
        if env_value is not None and env_value != "":
            values[name] = env_value
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})

    coerced = {name: _coerce(name, value) for name, value in values.items()}
    if "issuer" not in coerced:
        host = coerced.get("host", DEFAULT_HOST)
        port = coerced.get("port", DEFAULT_PORT)
        coerced["issuer"] = f"http://{host}:{port}"
    settings = _with_secret_from_file(_validated(Settings(**coerced)))
    if settings.refresh_grace_period > 0 and not settings.secret_key:
        # Retried refreshes get the same tokens, derived under the secret key (never stored).
        raise ConfigError("refresh_grace_period needs secret_key (or secret_key_file)")
    return settings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _validated(settings: Settings) -> Settings:
    parts = urlsplit(settings.issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"issuer must be an http(s) URL, got {settings.issuer!r}")
    if parts.query or parts.fragment:
        raise ConfigError("issuer must not have a query or fragment (Discovery 1.0 §3)")
    if (
        parts.scheme == "http"
        and not _is_loopback(parts.hostname or "")
        and not settings.allow_insecure_issuer
    ):
        # Codes, tokens and passwords would cross the network in the clear (Core §16.17,
        # SECURITY.md HTTP-09); http stays for development on this machine.
        raise ConfigError(
            f"issuer {settings.issuer} is plain http on a host other than this machine: use "
            "https (behind TLS), or set allow_insecure_issuer for a test set-up"
        )
    if settings.workers < 1:
        raise ConfigError("workers must be at least 1")
    for name in (
        "code_ttl",
        "access_token_ttl",
        "id_token_ttl",
        "refresh_token_ttl",
        "cleanup_interval",
        "registration_rate_window",
        "introspection_rate_window",
    ):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name} must be a positive number of seconds")
    for name in (
        "registration_rate_limit",
        "registration_global_rate_limit",
        "introspection_rate_limit",
    ):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name} must be 0 (no limit) or a number of requests")
    _validate_key_timings(settings)
    for name in ("accent_color", "accent_color_dark"):
        colour = getattr(settings, name)
        if colour is not None and not _HEX_COLOUR.fullmatch(colour):
            raise ConfigError(f"{name} must be a colour like #0b57d0, got {colour!r}")
    if settings.logo_url is not None and (
        not settings.logo_url.startswith("/") or settings.logo_url.startswith(("//", "/\\"))
    ):
        raise ConfigError("logo_url must be a path on idgate itself, like /static/logo.svg")
    if settings.theme_dir is not None and not Path(settings.theme_dir).is_dir():
        raise ConfigError(f"theme_dir {settings.theme_dir} is not a folder")
    for name in ("trusted_proxies", "metrics_allow"):
        for network in getattr(settings, name):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"{name}: {network!r} is not an IP address or network") from None
    if settings.metrics_token is not None and len(settings.metrics_token) < 16:
        raise ConfigError("metrics_token must be at least 16 characters")
    if not settings.product_name.strip():
        raise ConfigError("product_name must not be empty")
    # The issuer is compared as a string everywhere (RFC 9207): keep it without a trailing slash.
    return dataclasses.replace(settings, issuer=settings.issuer.rstrip("/"))


def _validate_key_timings(settings: Settings) -> None:
    if settings.key_reload_interval <= 0:
        raise ConfigError("key_reload_interval must be a positive number of seconds")
    if settings.jwks_max_age < 0:
        raise ConfigError("jwks_max_age must be zero or a positive number of seconds")
    if settings.key_rotation_interval < 0:
        raise ConfigError("key_rotation_interval must be 0 (off) or a number of seconds")
    publish_lead = settings.jwks_max_age + settings.key_reload_interval
    if 0 < settings.key_rotation_interval < publish_lead:
        # The next key is made at each rotation and may sign only after every RP's cached
        # JWKS and every process's key ring can have seen it: a shorter interval never fits.
        raise ConfigError(
            f"key_rotation_interval must be 0 (off) or at least jwks_max_age + "
            f"key_reload_interval ({publish_lead} s)"
        )


def _with_secret_from_file(settings: Settings) -> Settings:
    if settings.secret_key or not settings.secret_key_file:
        return settings
    try:
        secret = Path(settings.secret_key_file).read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read secret key file {settings.secret_key_file}: {exc.strerror}"
        ) from None
    if not secret:
        raise ConfigError(f"secret key file {settings.secret_key_file} is empty")
    return dataclasses.replace(settings, secret_key=secret)
