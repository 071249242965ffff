"""The audit log: one JSON line per security event, on the logger `idgate.audit`.

Events: logins, failed logins, consents, token issuance, revocations, client changes and
ended sessions. A line names who (subject, client_id), where from (ip) and what, never with
what: no password, code, token, secret, assertion or ID Token hint reaches it (SECURITY.md
G9). That is enforced by construction, not by redaction after the fact: every event has a
fixed set of fields, and each field takes only identifiers, scopes, counts and labels.

A failed login names the account only when one exists: people type their password into the
username field, and an unknown "username" is too often exactly that.

Operators route the logger like any other (`logging.getLogger("idgate.audit")`); each record's
message is the JSON line itself, and `record.audit` holds the same event as a dict. A record
written while a request is served carries its `request_id` (the `X-Request-Id` answered).

Observers (`add_observer`) see every event whatever the log level: that is where the metrics
count tokens and logins, from the one place each event is already named.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Literal

from idgate.clock import Clock
from idgate.observability.context import request_id

AUDIT_LOGGER: Final = "idgate.audit"

Event = Literal[
    "login.succeeded",
    "login.failed",
    "consent.granted",
    "consent.denied",
    "token.issued",
    "token.revoked",
    "client.created",
    "client.removed",
    "session.ended",
]
FailureReason = Literal["bad_credentials", "rate_limited"]
Value = str | int | bool | list[str] | None
AuditObserver = Callable[[Event, Mapping[str, Value]], None]


class AuditLog:
    def __init__(self, clock: Clock, logger: logging.Logger | None = None) -> None:
        self._clock = clock
        self._log = logger or logging.getLogger(AUDIT_LOGGER)
        self._observers: list[AuditObserver] = []

    def add_observer(self, observer: AuditObserver) -> None:
        self._observers.append(observer)

    # --- people -----------------------------------------------------------------------

    def login_succeeded(self, *, subject: str, client_id: str, ip: str, sid: str) -> None:
        self._emit("login.succeeded", subject=subject, client_id=client_id, ip=ip, sid=sid)

    def login_failed(
        self, *, subject: str | None, client_id: str, ip: str, reason: FailureReason
    ) -> None:
        self._emit("login.failed", subject=subject, client_id=client_id, ip=ip, reason=reason)

    def consent(
        self, *, subject: str, client_id: str, scopes: Iterable[str], granted: bool
    ) -> None:
        event: Event = "consent.granted" if granted else "consent.denied"
        self._emit(event, subject=subject, client_id=client_id, scopes=sorted(scopes))

    def session_ended(self, *, subject: str, sid: str, clients: int) -> None:
        self._emit("session.ended", subject=subject, sid=sid, clients=clients)

    # --- tokens -----------------------------------------------------------------------

    def token_issued(
        self,
        *,
        client_id: str,
        subject: str | None,
        grant: str,
        issued: Iterable[str],
        scopes: Iterable[str] = (),
    ) -> None:
        """`grant` is the grant_type or, at the authorization endpoint, the response_type;
        `issued` the kinds handed out (code, access_token, refresh_token, id_token)."""
        self._emit(
            "token.issued",
            client_id=client_id,
            subject=subject,
            grant=grant,
            issued=sorted(issued),
            scopes=sorted(scopes),
        )

    def token_revoked(
        self, *, client_id: str, subject: str | None, kind: str, reason: str, family: bool
    ) -> None:
        """`reason`: revocation request, code replay, refresh token reuse, logout."""
        self._emit(
            "token.revoked",
            client_id=client_id,
            subject=subject,
            kind=kind,
            reason=reason,
            family=family,
        )

    # --- clients ----------------------------------------------------------------------

    def client_created(self, *, client_id: str, client_name: str | None) -> None:
        self._emit("client.created", client_id=client_id, client_name=client_name)

    def client_removed(self, *, client_id: str) -> None:
        self._emit("client.removed", client_id=client_id)

    # --- the line -----------------------------------------------------------------------

    def _emit(self, event: Event, **fields: Value) -> None:
        for observer in self._observers:
            observer(event, fields)
        if not self._log.isEnabledFor(logging.INFO):
            return
        record: dict[str, Value] = {"event": event, "time": self._clock.now()}
        record.update((name, value) for name, value in fields.items() if value is not None)
        current_request = request_id.get()
        if current_request is not None:
            record["request_id"] = current_request
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=True)
        self._log.info(line, extra={"audit": record})
