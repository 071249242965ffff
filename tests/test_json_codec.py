"""idgate.json_codec: orjson's speed, the standard library's reach."""

from __future__ import annotations

import json
import math

import pytest

from idgate import json_codec


def test_compact_utf8_like_the_standard_library() -> None:
    value = {"name": "Zoë", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    assert json_codec.dumps(value) == json.dumps(
        value, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def test_sorted_text_is_the_stored_canonical_form() -> None:
    value = {"b": 1, "a": {"d": 2, "c": 3}}
    assert json_codec.dumps_sorted(value) == '{"a":{"c":3,"d":2},"b":1}'


def test_integers_beyond_64_bits_fall_back_to_the_standard_library() -> None:
    big = {"n": 2**80, "m": -(2**70)}
    assert json_codec.loads(json_codec.dumps(big)) == big
    assert json_codec.loads(json_codec.dumps_sorted(big)) == big


def test_non_string_keys_become_strings() -> None:
    assert json_codec.dumps({1: "a"}) == b'{"1":"a"}'


def test_nan_is_written_as_null_and_read_back_from_old_text() -> None:
    assert json_codec.dumps({"x": math.nan}) == b'{"x":null}'
    assert math.isnan(json_codec.loads('{"x": NaN}')["x"])


def test_what_is_not_json_is_a_value_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        json_codec.loads("{not json")
