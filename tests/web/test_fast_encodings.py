"""The hand-written fast paths of the request and response layer give, byte for byte, what the
library code they stand in for gives (they exist for speed alone: docs/benchmark.md)."""

from __future__ import annotations

import functools
import random
from urllib.parse import parse_qsl, urlencode

import pytest
from starlette.responses import Response

from idgate.protocol.errors import InvalidRequest
from idgate.protocol.response_modes import form_urlencoded
from idgate.web.cookies import Samesite, _set_cookie
from idgate.web.params import parse_urlencoded

# Pieces that exercise every branch: separators, escapes valid and not, UTF-8 and not, '+'.
_QUERY_PIECES = ["a", "b", "=", "&", "+", "%2", "0", "%C3%A9", "%ZZ", "%ff", "%", "é", " ", "%00"]
_TEXT = [chr(c) for c in range(160)] + ["é", "€", "😀"]


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


def test_parameters_are_parsed_as_parse_qsl_parses_them() -> None:
    rng = random.Random(6749)
    for _ in range(20_000):
        text = "".join(rng.choice(_QUERY_PIECES) for _ in range(rng.randint(0, 12)))
        try:
            expected = parse_qsl(text, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            with pytest.raises(InvalidRequest):
                parse_urlencoded(text, limit=1024)
            continue
        if any("\x00" in name or "\x00" in value for name, value in expected):
            with pytest.raises(InvalidRequest):
                parse_urlencoded(text, limit=1024)
            continue
        parsed = parse_urlencoded(text, limit=1024)
        assert parsed.values == _first_values(expected), text
        names = [name for name, _ in expected]
        assert parsed.repeated == {name for name in names if names.count(name) > 1}, text


def test_response_parameters_are_encoded_as_urlencode_encodes_them() -> None:
    rng = random.Random(9207)
    for _ in range(20_000):
        pairs = [
            (
                "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, 5))),
                "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, 8))),
            )
            for _ in range(rng.randint(0, 4))
        ]
        assert form_urlencoded(pairs) == urlencode(pairs), pairs


@pytest.mark.parametrize(
    "value", ["", "plain", "abc-_9.~", "a b", 'a"b', "a;b", "a,b", "a\\b", "é", "a=b", "(x)"]
)
def test_cookies_are_written_as_starlette_writes_them(value: str) -> None:
    ours, theirs = Response(), Response()
    samesites: tuple[Samesite, ...] = ("lax", "strict", "none")
    for httponly in (True, False):
        for secure in (True, False):
            for samesite in samesites:
                for write in (functools.partial(_set_cookie, ours), theirs.set_cookie):
                    write(
                        "name",
                        value,
                        max_age=60,
                        path="/",
                        secure=secure,
                        httponly=httponly,
                        samesite=samesite,
                    )
    assert ours.raw_headers == theirs.raw_headers
