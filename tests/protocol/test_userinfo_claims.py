"""Which Claims UserInfo returns (OIDC Core §5.1-§5.5), and the signed form (§5.3.2)."""

from __future__ import annotations

from typing import Any

import pytest

from idgate.protocol.claims import release_claims
from idgate.protocol.userinfo import signed_userinfo_claims, userinfo_claims

ACCOUNT: dict[str, Any] = {
    "name": "Alice Liddell",
    "name#fr": "Alice Liddell (fr)",
    "name#ja-Kana-JP": "アリス",
    "given_name": "Alice",
    "family_name": "Liddell",
    "family_name#FR": "Liddell-fr",
    "locale": "en-GB",
    "email": "alice@example.com",
    "email_verified": True,
    "address": {"country": "NL", "locality": "Delft"},
    "phone_number": "+31 15 000 0000",
    "employee_id": "E-7",
    "sub": "must-never-leak",
    "iss": "https://evil.example",
}


@pytest.mark.parametrize(
    ("scopes", "claims"),
    [
        (("openid",), {"sub"}),
        (("openid", "profile"), {"sub", "name", "given_name", "family_name", "locale"}),
        (("openid", "email"), {"sub", "email", "email_verified"}),
        (("openid", "address"), {"sub", "address"}),
        (("openid", "phone"), {"sub", "phone_number"}),  # phone_number_verified: not held
        (("openid", "offline_access", "unknown"), {"sub"}),
        (
            ("openid", "profile", "email", "address", "phone"),
            {
                "sub",
                "name",
                "given_name",
                "family_name",
                "locale",
                "email",
                "email_verified",
                "address",
                "phone_number",
            },
        ),
    ],
)
def test_claims_per_scope(scopes: tuple[str, ...], claims: set[str]) -> None:
    released = userinfo_claims(ACCOUNT, subject="pairwise-sub", scopes=scopes)
    assert set(released) == claims
    assert released["sub"] == "pairwise-sub"
    for name in claims - {"sub"}:
        assert released[name] == ACCOUNT[name]


def test_sub_comes_from_the_protocol_never_the_account() -> None:
    released = userinfo_claims(
        ACCOUNT, subject="the-sub", scopes=("openid",), requested=("sub", "iss")
    )
    assert released == {"sub": "the-sub"}


def test_requested_claims_add_to_scopes_and_missing_ones_are_left_out() -> None:
    # value/values requests do not filter: only the names reach this function (Core §5.5.1).
    released = userinfo_claims(
        ACCOUNT,
        subject="s",
        scopes=("openid", "email"),
        requested=("employee_id", "nickname", "phone_number", "name#fr"),
    )
    assert released == {
        "sub": "s",
        "email": "alice@example.com",
        "email_verified": True,
        "employee_id": "E-7",
        "phone_number": "+31 15 000 0000",
        "name#fr": "Alice Liddell (fr)",
    }


def test_claims_locales_add_the_localized_values() -> None:
    released = userinfo_claims(
        ACCOUNT, subject="s", scopes=("openid", "profile"), locales=("de", "fr", "ja-kana-jp")
    )
    assert released["name"] == "Alice Liddell"
    assert released["name#fr"] == "Alice Liddell (fr)"
    assert released["name#ja-Kana-JP"] == "アリス"  # tags match ignoring case
    assert released["family_name#FR"] == "Liddell-fr"
    assert "name#de" not in released


def test_claims_locales_never_widen_the_claims() -> None:
    # Localized values only of Claims released anyway: no email scope, no localized email.
    account = {**ACCOUNT, "email#fr": "alice@example.fr"}
    released = userinfo_claims(account, subject="s", scopes=("openid",), locales=("fr",))
    assert released == {"sub": "s"}
    assert "name#fr" not in userinfo_claims(ACCOUNT, subject="s", scopes=("openid", "email"))


def test_release_claims_without_locales_ignores_tagged_values() -> None:
    released = release_claims(ACCOUNT, scopes=("profile",))
    assert not any("#" in name for name in released)


def test_signed_userinfo_payload() -> None:
    claims = userinfo_claims(
        ACCOUNT, subject="s", scopes=("openid", "email"), requested=("iss", "employee_id")
    )
    payload = signed_userinfo_claims(claims, issuer="https://op.example", client_id="rp-1")
    assert payload == {
        "sub": "s",
        "email": "alice@example.com",
        "email_verified": True,
        "employee_id": "E-7",
        "iss": "https://op.example",
        "aud": "rp-1",
    }
    assert "exp" not in payload  # so it can never pass for an ID Token


def test_signed_payload_keeps_the_protocol_claims_its_own() -> None:
    claims = {"sub": "s", "iss": "https://evil.example", "aud": "other", "exp": 1, "email": "e"}
    payload = signed_userinfo_claims(claims, issuer="https://op.example", client_id="rp-1")
    assert payload == {"sub": "s", "iss": "https://op.example", "aud": "rp-1", "email": "e"}
