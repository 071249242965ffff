"""What error pages say: plain words, what to do next, and the technical detail kept apart."""

from __future__ import annotations

import pytest

from idgate.web.pages import Pages
from idgate.web.texts import explain, outage

HOSTILE = '"><script>alert(1)</script>'


@pytest.mark.parametrize(
    ("description", "title"),
    [
        ("unknown client_id", "Unknown application"),
        ("client_id is required", "Unknown application"),
        (
            "redirect_uri is not registered for this client",
            "This application's return address is not registered",
        ),
        ("redirect_uri is required", "This application's return address is not registered"),
    ],
)
def test_untrusted_client_or_redirect_uri_get_their_own_explanation(
    description: str, title: str
) -> None:
    explained = explain("The application sent an invalid request", description)
    assert explained.title == title
    assert explained.next_step is not None
    assert explained.details == description  # for the application's developers


def test_other_protocol_descriptions_become_details_of_a_plain_words_page() -> None:
    explained = explain("Invalid sign-out request", "id_token_hint is not a JWT")
    assert explained.title == "Invalid sign-out request"
    assert "sign-out request" in explained.message
    assert explained.details == "id_token_hint is not a JWT"
    assert explained.next_step is not None


def test_plain_words_from_the_provider_are_kept_with_a_next_step() -> None:
    explained = explain("This sign-in has expired", "Go back to the application.")
    assert explained.message == "Go back to the application."
    assert explained.next_step == "Go back to the application and start signing in again."
    assert explained.details is None
    assert outage().next_step is not None


def test_the_error_page_shows_next_step_and_escaped_details_in_a_disclosure() -> None:
    pages = Pages()
    response = pages.explained_error(
        explain("The application sent an invalid request", f"bad {HOSTILE}"), status_code=400
    )
    body = bytes(response.body).decode()
    assert response.status_code == 400
    assert HOSTILE not in body
    assert '<p class="next-step">' in body
    assert '<details class="details">' in body
    assert "bad &#34;&gt;&lt;script&gt;" in body
    assert 'role="alert"' in body

    german = pages.explained_error(
        explain("The application sent an invalid request", "unknown client_id"),
        language=pages.catalogs.get("de"),
    )
    text = bytes(german.body).decode()
    assert "Unbekannte Anwendung" in text
    assert "Was Sie tun können:" in text
    assert "unknown client_id" in text  # details stay as they are
