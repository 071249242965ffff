"""Standard scopes and the Claims they release (Core §5.4)."""

from __future__ import annotations

import pytest

from idgate.protocol.scopes import SUPPORTED_SCOPES, claims_for_scopes


@pytest.mark.parametrize(
    ("scopes", "claims"),
    [
        ((), set()),
        (("openid",), {"sub"}),
        (("email",), {"email", "email_verified"}),
        (("phone",), {"phone_number", "phone_number_verified"}),
        (("address",), {"address"}),
        (("offline_access",), set()),
        (("unknown", "Email"), set()),
        (("openid", "email", "address"), {"sub", "email", "email_verified", "address"}),
    ],
)
def test_claims_for_scopes(scopes: tuple[str, ...], claims: set[str]) -> None:
    assert claims_for_scopes(scopes) == claims


def test_profile_scope_claims() -> None:
    assert claims_for_scopes(["profile"]) == {
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    }


def test_supported_scopes() -> None:
    assert {"openid", "profile", "email", "address", "phone", "offline_access"} == SUPPORTED_SCOPES
