"""Session State for OpenID Connect Session Management 1.0 (§3, §4.1, §4.2).

The OP browser state (``opbs``) is a value the OP's `check_session_iframe` can read from a
cookie: it stands for "who is signed in to the OP in this browser". idgate derives it from the
OP session (the hash of its cookie), so it changes on every login and is empty after logout or
when there is no session.

``session_state`` goes back to the client in authorization responses; it is

    hex(SHA-256(client_id + " " + origin + " " + opbs + " " + salt)) + "." + salt

(the computation of the spec's example, §4.2), with a fresh random salt per response and the
origin (RFC 6454) of the response's redirect_uri, which is the origin the RP's page posts its
messages from. The RP sends ``client_id + " " + session_state`` to the iframe; the iframe
recomputes the value with the cookie's opbs and answers ``unchanged``, ``changed`` or
``error`` (§3.3, §4.2). :func:`check_session_message` is that answer in Python; the iframe's
JavaScript (web/templates/check_session.html) computes the same, which the tests check.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Final, Literal
from urllib.parse import urlsplit

__all__ = [
    "BROWSER_STATE_COOKIE",
    "CheckSessionAnswer",
    "browser_state",
    "check_session_message",
    "origin_of",
    "session_state",
]

#: The cookie holding the OP browser state: readable by the iframe's script (not HttpOnly).
BROWSER_STATE_COOKIE: Final = "idgate_browser_state"

CheckSessionAnswer = Literal["changed", "unchanged", "error"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_SALT_BYTES: Final = 8
# hex SHA-256, a dot, a salt of base64url/hex characters (what `session_state` makes, and
# what a well-formed value from elsewhere looks like).
_SESSION_STATE: Final = re.compile(r"[0-9a-f]{64}\.([A-Za-z0-9_-]{1,128})")
_MAX_MESSAGE_CHARS: Final = 4096


def origin_of(uri: str) -> str | None:
    """The ASCII serialization of the origin of an http(s) URI (RFC 6454 §6.2), as a browser
    reports it in ``MessageEvent.origin``: lower-case scheme and host, IDN hosts in A-label
    form, the port only when it is not the scheme's default. None for other URIs."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    elif not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def browser_state(session_id_hash: str | None) -> str:
    """The OP browser state for an OP session (by the hash of its cookie); "" for none.

    One-way from the cookie hash, which is itself secret: the value says nothing about the
    cookie, and a new login (a new cookie) gives a new value.
    """
    if not session_id_hash:
        return ""
    digest = hashlib.sha256(f"idgate opbs {session_id_hash}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _hash(client_id: str, origin: str, opbs: str, salt: str) -> str:
    text = f"{client_id} {origin} {opbs} {salt}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def session_state(client_id: str, origin: str, opbs: str, *, salt: str | None = None) -> str:
    """The ``session_state`` for an authorization response (§3, §4.2)."""
    salt = secrets.token_hex(_SALT_BYTES) if salt is None else salt
    return f"{_hash(client_id, origin, opbs, salt)}.{salt}"


def check_session_message(message: object, origin: str, opbs: str) -> CheckSessionAnswer:
    """What the check_session_iframe answers to a postMessage (§3.3, §4.2).

    ``message`` is ``client_id + " " + session_state``; ``origin`` is the sender's origin.
    The client_id is everything before the last space. Anything that is not such a string is
    ``error``; a value that no longer matches the browser state is ``changed``.
    """
    if not isinstance(message, str) or len(message) > _MAX_MESSAGE_CHARS:
        return "error"
    client_id, space, state = message.rpartition(" ")
    match = _SESSION_STATE.fullmatch(state)
    if not space or not client_id or match is None:
        return "error"
    expected = f"{_hash(client_id, origin, opbs, match.group(1))}.{match.group(1)}"
    return "unchanged" if secrets.compare_digest(expected, state) else "changed"
