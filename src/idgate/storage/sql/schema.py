"""Tables. JSON is kept as text so one schema serves SQLite and PostgreSQL alike.

Times are epoch seconds (BigInteger). Codes and tokens are keyed by their SHA-256 hex hash.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

HASH = String(64)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(255), primary_key=True),
    Column("secret_hash", HASH),
    # client_secret_jwt needs the secret itself as the HMAC key: kept sealed, like private keys.
    Column("secret_sealed", Text),
    Column("metadata", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("username", String(255), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("claims", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(128), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("private_sealed", Text, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("activated_at", BigInteger),
    Column("retired_at", BigInteger),
)

# The OP's browser sessions. `id_hash` is the hash of the cookie value; `sid` is the public
# session id that goes into ID Tokens and logout tokens.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", HASH, primary_key=True),
    Column("sid", String(64), nullable=False, unique=True),
    Column("subject", String(64), nullable=False),
    Column("auth_time", BigInteger, nullable=False),
    Column("acr", String(255)),
    Column("amr", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger),
    Index("ix_sessions_expires_at", "expires_at"),
    Index("ix_sessions_ended_at", "ended_at"),
)

session_clients = Table(
    "session_clients",
    metadata,
    Column("sid", String(64), primary_key=True),
    Column("client_id", String(255), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    # Set by the one process that sends this RP its back-channel Logout Token (exactly once).
    Column("logout_notified_at", BigInteger),
)

consents = Table(
    "consents",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("client_id", String(255), primary_key=True),
    Column("scopes", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# An authorization request waiting for the End-User to log in or consent.
interactions = Table(
    "interactions",
    metadata,
    Column("id_hash", HASH, primary_key=True),
    Column("request", Text, nullable=False),
    # Binds the interaction to the browser that started it (login CSRF), and the form token.
    Column("browser_hash", HASH, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("subject", String(64)),
    Column("authenticated_at", BigInteger),
    Column("consented", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_interactions_expires_at", "expires_at"),
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hash", HASH, primary_key=True),
    Column("client_id", String(255), nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("consumed_at", BigInteger),
    Index("ix_authorization_codes_expires_at", "expires_at"),
)

# Access and refresh tokens. `family_id` ties together every token of one grant and its
# rotations; for a code's tokens it is derived from the code's hash (replay revocation).
tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", HASH, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("subject", String(64)),
    Column("scope", Text, nullable=False),
    Column("family_id", String(64)),
    Column("data", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
    Column("revoked_at", BigInteger),
    # The OP session the token was issued in (its `data["sid"]`): logout revokes by it.
    Column("sid", String(64)),
    Index("ix_tokens_family_id", "family_id"),
    # Logout looks up refresh tokens only by session (`revoke_session_refresh_tokens`).
    Index(
        "ix_tokens_sid",
        "sid",
        sqlite_where=text("kind = 'refresh'"),
        postgresql_where=text("kind = 'refresh'"),
    ),
    Index("ix_tokens_expires_at", "expires_at"),
)

# Seen once: client assertion `jti`s and the like, until they expire.
replay_cache = Table(
    "replay_cache",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_replay_cache_expires_at", "expires_at"),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=False),
)

# Values made once per installation and shared by every process (the pairwise subject salt),
# sealed like private keys.
provider_secrets = Table(
    "provider_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

initial_access_tokens = Table(
    "initial_access_tokens",
    metadata,
    Column("token_hash", HASH, primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
)

# RFC 7592 §3: one registration access token per client, stored as a hash.
registration_access_tokens = Table(
    "registration_access_tokens",
    metadata,
    Column("client_id", String(255), primary_key=True),
    Column("token_hash", HASH, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# RFC 9126: pushed authorization requests by the hash of their reference, used once.
pushed_requests = Table(
    "pushed_requests",
    metadata,
    Column("ref_hash", HASH, primary_key=True),
    Column("client_id", String(255), nullable=False),
    Column("params", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_pushed_requests_expires_at", "expires_at"),
)
