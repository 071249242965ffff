"""Authorization request validation (RFC 6749 §3.1, §4.1.1; OpenID Connect Core 1.0 §3.1.2).

Two phases, in this order (RFC 6749 §4.1.2.1; Core §3.1.2.2):

1. `check_client_and_redirect_uri` — until the client and its redirect_uri are trusted, every
   error is a page for the End-User (`UnknownClient`, `InvalidRedirectUri`), never a redirect.
   It returns the `ResponseTarget` every later answer goes to.
2. `parse_authorization_request` — everything else; its errors are redirected to the target.

Parameters sent with an empty value are treated as absent (RFC 6749 §3.1). Unknown parameters
are ignored (RFC 6749 §3.1). The web layer has already refused repeated parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, TypeVar, cast, get_args

from idgate.protocol.clients import Client, ClientMetadata, normalize_response_type
from idgate.protocol.errors import (
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnknownClient,
    UnsupportedResponseType,
)
from idgate.protocol.pkce import PkceMethod, is_valid_challenge
from idgate.protocol.response_modes import RESPONSE_MODES, ResponseMode, ResponseTarget
from idgate.protocol.scopes import OFFLINE_ACCESS, OPENID, SUPPORTED_SCOPES

__all__ = [
    "DEFAULT_POLICY",
    "DISPLAY_VALUES",
    "PROMPT_VALUES",
    "RESPONSE_TYPE_VALUES",
    "AuthorizationRequest",
    "AuthorizePolicy",
    "ClaimRequest",
    "ClaimsRequest",
    "Display",
    "Prompt",
    "ResponseTarget",
    "ResponseType",
    "check_client_and_redirect_uri",
    "default_response_mode",
    "parse_authorization_request",
    "redirect_uri_allowed",
]

# The normalized (sorted-word) response types of Core §3 and Multiple Response Types §3-§5.
ResponseType = Literal[
    "code",
    "id_token",
    "code id_token",
    "code token",
    "id_token token",
    "code id_token token",
    "none",
]
RESPONSE_TYPE_VALUES: Final[tuple[ResponseType, ...]] = get_args(ResponseType)
_RESPONSE_TYPES: Final[frozenset[str]] = frozenset(RESPONSE_TYPE_VALUES)

Prompt = Literal["none", "login", "consent", "select_account"]
PROMPT_VALUES: Final[tuple[Prompt, ...]] = get_args(Prompt)
Display = Literal["page", "popup", "touch", "wap"]
DISPLAY_VALUES: Final[tuple[Display, ...]] = get_args(Display)

JsonScalar: TypeAlias = str | int | float | bool
_T = TypeVar("_T", bound=str)

# Size bounds for the values idgate reads (the web layer bounds the whole request). A value
# over its bound is refused, never truncated (SECURITY.md AZ-01). State and nonce have room for
# the long values conformance suites send (FAPI ...-with-long-state/-nonce: 384 and more).
MAX_STATE_LENGTH: Final = 2048
MAX_NONCE_LENGTH: Final = 2048
MAX_CLAIMS_LENGTH: Final = 16 * 1024
MAX_ID_TOKEN_HINT_LENGTH: Final = 8 * 1024
MAX_VALUE_LENGTH: Final = 2048
_MAX_LENGTHS: Final[Mapping[str, int]] = {
    "state": MAX_STATE_LENGTH,
    "nonce": MAX_NONCE_LENGTH,
    "claims": MAX_CLAIMS_LENGTH,
    "id_token_hint": MAX_ID_TOKEN_HINT_LENGTH,
}
READ_PARAMETERS: Final = (
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "display",
    "claims",
    "code_challenge",
    "code_challenge_method",
    "id_token_hint",
    "login_hint",
    "acr_values",
    "ui_locales",
    "claims_locales",
)
# The claims parameter is at most: object > id_token/userinfo > claim > values array; deeper
# nesting only comes from extensions we ignore. Bounded before parsing (SECURITY.md AZ-12).
_MAX_CLAIMS_DEPTH: Final = 16
_MAX_AGE = re.compile(r"[0-9]{1,10}")  # ASCII digits only: `\d` and str.isdigit admit "²".
_FORMAT_VERSION: Final = 1  # of AuthorizationRequest.to_dict(), checked by from_dict()
_LOOPBACK = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?(?=[/?]|\Z)(.*)", re.S)


@dataclass(frozen=True, slots=True)
class AuthorizePolicy:
    """The operator's choices for the authorization endpoint.

    - `response_types`: the types this deployment offers (Discovery `response_types_supported`).
    - `supported_scopes`: scope values idgate grants; others are dropped (RFC 6749 §3.3).
    - `allow_plain_pkce`: accept `code_challenge_method=plain` (RFC 7636 §4.2). Off by default:
      RFC 9700 §2.1.1 and FAPI want S256 only (SECURITY.md CODE-10).
    - `require_pkce_for_public_clients`: RFC 9700 §2.1.1, RFC 8252 §8.1.
    - `require_pkce`: every client that asks for a code must send a challenge (OAuth 2.1).
    """

    response_types: frozenset[str] = _RESPONSE_TYPES
    supported_scopes: frozenset[str] = SUPPORTED_SCOPES
    allow_plain_pkce: bool = False
    require_pkce_for_public_clients: bool = True
    require_pkce: bool = False

    @property
    def code_challenge_methods(self) -> tuple[PkceMethod, ...]:
        """For Discovery `code_challenge_methods_supported` (RFC 8414 §2)."""
        return ("S256", "plain") if self.allow_plain_pkce else ("S256",)


DEFAULT_POLICY: Final = AuthorizePolicy()


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One requested Claim (Core §5.5.1): `null`, or an object with these optional members.

    idgate keeps `value` and `values` only as JSON scalars (string, number, boolean): that is
    what the Claims they apply to (`sub`, `acr`, …) can equal. Other members are ignored as
    §5.5.1 requires.
    """

    essential: bool = False
    value: JsonScalar | None = None
    values: tuple[JsonScalar, ...] | None = None

    def to_json(self) -> dict[str, Any] | None:
        if self == ClaimRequest():
            return None
        doc: dict[str, Any] = {}
        if self.essential:
            doc["essential"] = True
        if self.value is not None:
            doc["value"] = self.value
        if self.values is not None:
            doc["values"] = list(self.values)
        return doc


@dataclass(frozen=True, slots=True)
class ClaimsRequest:
    """The `claims` request parameter (Core §5.5): the Claims asked for in each place.

    Each member is a tuple of (Claim name, request) pairs in request order; `dict(...)` of it
    is a lookup table. Members other than `id_token` and `userinfo` are ignored (§5.5).
    """

    id_token: tuple[tuple[str, ClaimRequest], ...] = ()
    userinfo: tuple[tuple[str, ClaimRequest], ...] = ()

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for name, members in (("id_token", self.id_token), ("userinfo", self.userinfo)):
            if members:
                doc[name] = {claim: req.to_json() for claim, req in members}
        return doc

    @classmethod
    def from_json(cls, doc: object) -> ClaimsRequest:
        """Validate a decoded `claims` object; raises ValueError when it is malformed."""
        if not isinstance(doc, dict):
            raise ValueError("claims must be a JSON object")
        return cls(
            id_token=_claim_members(doc, "id_token"),
            userinfo=_claim_members(doc, "userinfo"),
        )


def _claim_members(doc: Mapping[str, object], name: str) -> tuple[tuple[str, ClaimRequest], ...]:
    if name not in doc:
        return ()
    members = doc[name]
    if not isinstance(members, dict):
        raise ValueError(f"claims.{name} must be a JSON object")
    return tuple((claim, _claim_request(spec)) for claim, spec in members.items())


def _claim_request(spec: object) -> ClaimRequest:
    if spec is None:
        return ClaimRequest()
    if not isinstance(spec, dict):
        raise ValueError("each requested claim must be null or an object")
    essential = spec.get("essential", False)
    if not isinstance(essential, bool):
        raise ValueError("essential must be a boolean")
    value = spec.get("value")
    if value is not None and not _is_scalar(value):
        raise ValueError("value must be a string, number or boolean")
    values = spec.get("values")
    if values is not None and (
        not isinstance(values, list) or not all(_is_scalar(v) for v in values)
    ):
        raise ValueError("values must be an array of strings, numbers or booleans")
    return ClaimRequest(
        essential=essential,
        value=cast("JsonScalar | None", value),
        values=tuple(values) if values is not None else None,
    )


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request, kept server-side while the End-User signs in.

    `response_type` is normalized (words sorted, Core §3 and Multiple Response Types §5 say the
    order does not matter). `scopes` are the granted scope values in request order. It
    round-trips through `to_dict()` / `from_dict()` as plain JSON.
    """

    client_id: str
    redirect_uri: str
    response_type: ResponseType
    response_mode: ResponseMode
    scopes: tuple[str, ...] = ()
    state: str | None = None
    nonce: str | None = None
    prompt: frozenset[Prompt] = frozenset()
    max_age: int | None = None
    display: Display | None = None
    claims: ClaimsRequest | None = None
    code_challenge: str | None = None
    code_challenge_method: PkceMethod | None = None
    id_token_hint: str | None = None
    login_hint: str | None = None
    acr_values: tuple[str, ...] = ()
    ui_locales: tuple[str, ...] = ()
    claims_locales: tuple[str, ...] = ()

    @property
    def returns_code(self) -> bool:
        return "code" in self.response_type.split()

    @property
    def returns_id_token(self) -> bool:
        """An ID Token from the authorization endpoint itself (implicit and hybrid flows)."""
        return "id_token" in self.response_type.split()

    @property
    def returns_token(self) -> bool:
        return "token" in self.response_type.split()

    @property
    def is_openid(self) -> bool:
        """An OpenID Connect request (Core §3.1.2.1: the `openid` scope is present)."""
        return OPENID in self.scopes

    @property
    def target(self) -> ResponseTarget:
        """Where answers to this request go, e.g. an `access_denied` after the consent page."""
        return ResponseTarget(self.redirect_uri, self.response_mode, self.state)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; `from_dict` reads it back to an equal request."""
        return {
            "v": _FORMAT_VERSION,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": self.response_type,
            "response_mode": self.response_mode,
            "scopes": list(self.scopes),
            "state": self.state,
            "nonce": self.nonce,
            "prompt": sorted(self.prompt),
            "max_age": self.max_age,
            "display": self.display,
            "claims": self.claims.to_json() if self.claims is not None else None,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
            "id_token_hint": self.id_token_hint,
            "login_hint": self.login_hint,
            "acr_values": list(self.acr_values),
            "ui_locales": list(self.ui_locales),
            "claims_locales": list(self.claims_locales),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> AuthorizationRequest:
        """Read back `to_dict()` output; raises ValueError for anything else."""
        if doc.get("v") != _FORMAT_VERSION:
            raise ValueError("unknown AuthorizationRequest format version")
        claims = doc.get("claims")
        max_age = doc.get("max_age")
        if max_age is not None and (type(max_age) is not int or max_age < 0):
            raise ValueError("max_age must be a non-negative integer")
        return cls(
            client_id=_str(doc, "client_id"),
            redirect_uri=_str(doc, "redirect_uri"),
            response_type=_choice(doc, "response_type", RESPONSE_TYPE_VALUES),
            response_mode=_choice(doc, "response_mode", RESPONSE_MODES),
            scopes=_str_tuple(doc, "scopes"),
            state=_opt_str(doc, "state"),
            nonce=_opt_str(doc, "nonce"),
            prompt=frozenset(_choice_tuple(doc, "prompt", PROMPT_VALUES)),
            max_age=max_age,
            display=_opt_choice(doc, "display", DISPLAY_VALUES),
            claims=ClaimsRequest.from_json(claims) if claims is not None else None,
            code_challenge=_opt_str(doc, "code_challenge"),
            code_challenge_method=_opt_choice(doc, "code_challenge_method", ("S256", "plain")),
            id_token_hint=_opt_str(doc, "id_token_hint"),
            login_hint=_opt_str(doc, "login_hint"),
            acr_values=_str_tuple(doc, "acr_values"),
            ui_locales=_str_tuple(doc, "ui_locales"),
            claims_locales=_str_tuple(doc, "claims_locales"),
        )


def _str(doc: Mapping[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _opt_str(doc: Mapping[str, Any], name: str) -> str | None:
    return None if doc.get(name) is None else _str(doc, name)


def _str_tuple(doc: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = doc.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return tuple(value)


def _choice(doc: Mapping[str, Any], name: str, allowed: tuple[_T, ...]) -> _T:
    value = doc.get(name)
    for option in allowed:
        if value == option:
            return option
    raise ValueError(f"{name} must be one of {', '.join(allowed)}")


def _opt_choice(doc: Mapping[str, Any], name: str, allowed: tuple[_T, ...]) -> _T | None:
    return None if doc.get(name) is None else _choice(doc, name, allowed)


def _choice_tuple(doc: Mapping[str, Any], name: str, allowed: tuple[_T, ...]) -> tuple[_T, ...]:
    return tuple(_choice({name: v}, name, allowed) for v in _str_tuple(doc, name))


# --- Phase 1: client and redirect_uri (never redirected) --------------------------------------


def check_client_and_redirect_uri(
    params: Mapping[str, str], client: Client | None
) -> ResponseTarget:
    """Trust the client and its redirect_uri, or fail with an error page (RFC 6749 §4.1.2.1).

    `client` is what storage found for `params["client_id"]`. The redirect_uri must equal a
    registered one by plain string comparison (RFC 6749 §3.1.2.3, Core §3.1.2.1, RFC 9700
    §4.1.3); only native clients may vary the port of a loopback IP URI (RFC 8252 §7.3).
    idgate requires redirect_uri even with one registered URI (Core §3.1.2.1 makes it REQUIRED
    for OpenID requests; SECURITY.md RDR-04).

    The response mode is the requested one when it is valid for the response type, otherwise
    the default, so that the errors of phase 2 travel the right way (SECURITY.md AZ-05).
    """
    client_id = _param(params, "client_id")
    if client_id is None:
        raise UnknownClient("client_id is required")
    if client is None or client.client_id != client_id:
        raise UnknownClient("unknown client_id")
    redirect_uri = _param(params, "redirect_uri")
    if redirect_uri is None:
        raise InvalidRedirectUri("redirect_uri is required")
    if not redirect_uri_allowed(redirect_uri, client.metadata):
        raise InvalidRedirectUri("redirect_uri is not registered for this client")
    return ResponseTarget(
        redirect_uri=redirect_uri,
        response_mode=_target_response_mode(params),
        state=_returnable_state(params),
    )


def redirect_uri_allowed(redirect_uri: str, metadata: ClientMetadata) -> bool:
    """Exact match with a registered redirect_uri (RFC 9700 §4.1.3: no normalisation at all).

    The one exception is RFC 8252 §7.3: a native client that registered an `http` loopback IP
    literal URI may use any port; scheme, host literal, path and query stay exact. `localhost`
    gets no such leniency (RFC 8252 §8.3), and web clients never do.
    """
    if redirect_uri in metadata.redirect_uris:
        return True
    if metadata.application_type != "native":
        return False
    requested = _LOOPBACK.fullmatch(redirect_uri)
    if requested is None:
        return False
    host, port, rest = requested.groups()
    if port is not None and not (port[0] != "0" and int(port) <= 65535):
        return False
    for registered in metadata.redirect_uris:
        match = _LOOPBACK.fullmatch(registered)
        if match is not None and match.group(1) == host and match.group(3) == rest:
            return True
    return False


def default_response_mode(response_type: str | None) -> ResponseMode:
    """Multiple Response Type Encoding Practices §2.1, §3-§5: `query` for `code` and `none`,
    `fragment` for every type returning an ID Token or access token from this endpoint.

    A missing or unknown response_type gets `query`: its error carries nothing secret.
    """
    if response_type is None:
        return "query"
    normalized = normalize_response_type(response_type)
    if normalized in _RESPONSE_TYPES and {"id_token", "token"} & set(normalized.split()):
        return "fragment"
    return "query"


def _target_response_mode(params: Mapping[str, str]) -> ResponseMode:
    default = default_response_mode(_param(params, "response_type"))
    requested = _param(params, "response_mode")
    for mode in RESPONSE_MODES:
        # query is never valid where the default is fragment (Multiple Response Types §5).
        if requested == mode and not (mode == "query" and default == "fragment"):
            return mode
    return default


def _returnable_state(params: Mapping[str, str]) -> str | None:
    """The state to send back, or None when it is absent or cannot go back unchanged.

    An oversized state is refused in phase 2 (invalid_request); its error goes back without
    the state rather than echoing an unbounded value into a Location header.
    """
    state = _param(params, "state")
    if state is None or len(state) > MAX_STATE_LENGTH or not _is_utf8_encodable(state):
        return None
    return state


# --- Phase 2: everything else (redirected to the target) --------------------------------------


def parse_authorization_request(
    params: Mapping[str, str],
    client: Client,
    target: ResponseTarget,
    policy: AuthorizePolicy = DEFAULT_POLICY,
) -> AuthorizationRequest:
    """Validate the rest of the request (RFC 6749 §4.1.1, §4.2.1; Core §3.1.2.1, §3.2.2.1,
    §3.3.2.1; RFC 7636 §4.3). Every error raised here may be redirected to `target`.
    """
    if _param(params, "request") is not None:
        raise RequestNotSupported("request objects are not supported")  # Core §6.1
    if _param(params, "request_uri") is not None:
        raise RequestUriNotSupported("request_uri is not supported")  # Core §6.2
    _check_sizes(params)

    response_type = _response_type(params, client, policy)
    words = set(response_type.split())
    returns_code = "code" in words
    returns_id_token = "id_token" in words
    response_mode = _response_mode(params, response_type)
    prompt = _prompt(params)
    scopes = _scopes(params, client, policy, returns_id_token, returns_code, prompt)

    nonce = _param(params, "nonce")
    if returns_id_token and nonce is None:
        # Core §3.2.2.1 (implicit) and §3.3.2.11 (hybrid): nonce is REQUIRED.
        raise InvalidRequest("nonce is required for response types returning an ID Token")

    code_challenge, code_challenge_method = _pkce(params, client, policy, returns_code)
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=target.redirect_uri,
        response_type=response_type,
        response_mode=response_mode,
        scopes=scopes,
        state=_state(params),
        nonce=nonce,
        prompt=prompt,
        max_age=_max_age(params, client.metadata.more.default_max_age),
        display=_display(params),
        claims=_claims(params),
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        id_token_hint=_param(params, "id_token_hint"),
        login_hint=_param(params, "login_hint"),
        # Registration 1.0 §2: the client's defaults, unless the request says otherwise.
        acr_values=_words(params, "acr_values") or client.metadata.more.default_acr_values,
        ui_locales=_words(params, "ui_locales"),
        claims_locales=_words(params, "claims_locales"),
    )


def _param(params: Mapping[str, str], name: str) -> str | None:
    """RFC 6749 §3.1: a parameter sent without a value is treated as omitted."""
    value = params.get(name)
    return value if value else None


def _words(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A space-delimited list (Core §3.1.2.1), deduplicated, in request order.

    Doubled spaces are tolerated; only SP separates (RFC 6749 §3.3), so a tab stays inside a
    word and makes it unknown.
    """
    value = _param(params, name)
    return tuple(dict.fromkeys(w for w in value.split(" ") if w)) if value else ()


def _is_utf8_encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be percent-encoded back
        return False
    return True


def _check_sizes(params: Mapping[str, str]) -> None:
    for name in READ_PARAMETERS:
        value = params.get(name)
        if value is None:
            continue
        if len(value) > _MAX_LENGTHS.get(name, MAX_VALUE_LENGTH):
            raise InvalidRequest(f"{name} is too long")
        if not _is_utf8_encodable(value):
            raise InvalidRequest(f"{name} is not valid text")


def _response_type(
    params: Mapping[str, str], client: Client, policy: AuthorizePolicy
) -> ResponseType:
    """RFC 6749 §3.1.1, §4.1.2.1; Multiple Response Types §5 (word order does not matter)."""
    raw = _param(params, "response_type")
    if raw is None:
        raise InvalidRequest("response_type is required")
    normalized = normalize_response_type(raw)
    if normalized not in _RESPONSE_TYPES or normalized not in policy.response_types:
        raise UnsupportedResponseType("response_type is not supported")
    registered = {normalize_response_type(t) for t in client.metadata.response_types}
    if normalized not in registered:
        raise UnauthorizedClient("the client is not registered for this response_type")
    return cast(ResponseType, normalized)


def _response_mode(params: Mapping[str, str], response_type: ResponseType) -> ResponseMode:
    """Multiple Response Types §2.1, §5; Form Post Response Mode §2."""
    default = default_response_mode(response_type)
    requested = _param(params, "response_mode")
    if requested is None:
        return default
    for mode in RESPONSE_MODES:
        if requested == mode:
            if mode == "query" and default == "fragment":
                # Multiple Response Types §5: ID Tokens and access tokens never go in a query.
                raise InvalidRequest("response_mode=query is not allowed for this response_type")
            return mode
    raise InvalidRequest("response_mode is not supported")


def _prompt(params: Mapping[str, str]) -> frozenset[Prompt]:
    """Core §3.1.2.1: a space-delimited subset; `none` must stand alone."""
    chosen: set[Prompt] = set()
    for word in _words(params, "prompt"):
        for value in PROMPT_VALUES:
            if word == value:
                chosen.add(value)
                break
        else:
            raise InvalidRequest("prompt has an unknown value")
    if "none" in chosen and len(chosen) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    return frozenset(chosen)


def _scopes(
    params: Mapping[str, str],
    client: Client,
    policy: AuthorizePolicy,
    returns_id_token: bool,
    returns_code: bool,
    prompt: frozenset[Prompt],
) -> tuple[str, ...]:
    """RFC 6749 §3.3; Core §3.1.2.1, §5.4, §11."""
    requested = _words(params, "scope")
    if returns_id_token and OPENID not in requested:
        # Core §3.1.2.1 makes `openid` REQUIRED and leaves requests without it unspecified;
        # without it there is no OpenID request, so no ID Token may be minted. invalid_scope
        # (RFC 6749 §4.1.2.1: "the requested scope is invalid") names the parameter at fault,
        # which invalid_request would not, and is what conformance suites and SECURITY.md AZ-03
        # expect.
        raise InvalidScope("response types returning an ID Token need the openid scope")
    if client.metadata.scope is not None:
        allowed = set(client.metadata.scope.split())
        if any(s not in allowed for s in requested):
            raise InvalidScope("the client is not allowed to request this scope")
    supported = policy.supported_scopes | {OPENID}
    granted = [s for s in requested if s in supported]
    # Core §11: offline_access MUST be ignored unless a code is returned. prompt=none rules out
    # the explicit consent §11 asks for, so it is ignored there too (interaction.py asks for
    # consent in every other case).
    if OFFLINE_ACCESS in granted and (not returns_code or "none" in prompt):
        granted.remove(OFFLINE_ACCESS)
    return tuple(granted)


def _state(params: Mapping[str, str]) -> str | None:
    """RFC 6749 §4.1.1: opaque, returned unchanged. Oversized values failed `_check_sizes`."""
    return _param(params, "state")


def _max_age(params: Mapping[str, str], default: int | None) -> int | None:
    """Core §3.1.2.1: seconds, a non-negative integer (SECURITY.md AZ-07: -1, abc, 1.5 fail).
    Without one, the client's registered `default_max_age` (Registration 1.0 §2)."""
    raw = _param(params, "max_age")
    if raw is None:
        return default
    if _MAX_AGE.fullmatch(raw) is None:
        raise InvalidRequest("max_age must be a non-negative integer")
    return int(raw)


def _display(params: Mapping[str, str]) -> Display | None:
    """Core §3.1.2.1: page, popup, touch or wap."""
    raw = _param(params, "display")
    if raw is None:
        return None
    for value in DISPLAY_VALUES:
        if raw == value:
            return value
    raise InvalidRequest("display has an unknown value")


def _claims(params: Mapping[str, str]) -> ClaimsRequest | None:
    """Core §5.5: a JSON object; size and nesting are bounded before parsing."""
    raw = _param(params, "claims")
    if raw is None:
        return None
    if _json_depth(raw) > _MAX_CLAIMS_DEPTH:
        raise InvalidRequest("claims is nested too deeply")
    try:
        doc = json.loads(raw, object_pairs_hook=_no_duplicate_members, parse_constant=_no_constants)
        return ClaimsRequest.from_json(doc)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise InvalidRequest(f"claims is malformed: {exc}") from None


def _no_duplicate_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise ValueError("duplicate member names")
    return doc


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, counted outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _pkce(
    params: Mapping[str, str], client: Client, policy: AuthorizePolicy, returns_code: bool
) -> tuple[str | None, PkceMethod | None]:
    """RFC 7636 §4.3, §4.4.1; RFC 9700 §2.1.1."""
    challenge = _param(params, "code_challenge")
    method = _param(params, "code_challenge_method")
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge")
        required = policy.require_pkce or (
            client.is_public and policy.require_pkce_for_public_clients
        )
        if returns_code and required:
            raise InvalidRequest("code_challenge is required")  # RFC 7636 §4.4.1
        return None, None
    # RFC 7636 §4.3: a missing method means plain, never S256 (SECURITY.md CODE-10).
    chosen: PkceMethod
    if method is None or method == "plain":
        if not policy.allow_plain_pkce:
            raise InvalidRequest("code_challenge_method must be S256")
        chosen = "plain"
    elif method == "S256":
        chosen = "S256"
    else:
        raise InvalidRequest("code_challenge_method is not supported")
    if not is_valid_challenge(challenge, chosen):
        raise InvalidRequest("code_challenge is malformed")
    return challenge, chosen
