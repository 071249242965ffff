"""What the pages say about scopes, claims and errors, in plain words (English msgids).

Every text here is marked with `N_` for the catalogs and translated where it is shown. The
error texts turn the provider's `ShowError` (a title, and either a sentence for people or a
protocol error description for developers) into what a person needs: what happened, what to do
next, and, when there is one, the technical detail to pass on to the application's developers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from idgate.web.i18n import N_

__all__ = [
    "CLAIM_DESCRIPTIONS",
    "SCOPE_DESCRIPTIONS",
    "Explanation",
    "explain",
    "outage",
]

SCOPE_DESCRIPTIONS: Mapping[str, str] = {
    "openid": N_("Know who you are (your account identifier)"),
    "profile": N_("See your name and basic profile (picture, locale, birthdate…)"),
    "email": N_("See your email address"),
    "address": N_("See your postal address"),
    "phone": N_("See your phone number"),
    "offline_access": N_("Keep access while you are not using it"),
}

# OIDC Core §5.1 standard Claims.
CLAIM_DESCRIPTIONS: Mapping[str, str] = {
    "name": N_("Your full name"),
    "given_name": N_("Your given name"),
    "family_name": N_("Your family name"),
    "middle_name": N_("Your middle name"),
    "nickname": N_("Your nickname"),
    "preferred_username": N_("The username you prefer"),
    "profile": N_("The address of your profile page"),
    "picture": N_("Your profile picture"),
    "website": N_("Your website"),
    "email": N_("Your email address"),
    "email_verified": N_("Whether your email address is verified"),
    "gender": N_("Your gender"),
    "birthdate": N_("Your date of birth"),
    "zoneinfo": N_("Your time zone"),
    "locale": N_("Your language and region"),
    "phone_number": N_("Your phone number"),
    "phone_number_verified": N_("Whether your phone number is verified"),
    "address": N_("Your postal address"),
    "updated_at": N_("When your profile was last updated"),
    "auth_time": N_("When you signed in"),
    "acr": N_("How strongly you signed in"),
}


@dataclass(frozen=True)
class Explanation:
    """An error page's content, untranslated: `details` is technical and shown as-is."""

    title: str
    message: str
    next_step: str | None = None
    details: str | None = None


_GO_BACK = N_(
    "Go back to the application and try again. If it happens again, let the application's "
    "support know, with the details below."
)
_START_AGAIN = N_("Go back to the application and start signing in again.")

# Provider titles whose message is a protocol error description (for developers, English).
_TECHNICAL_TITLES: Mapping[str, str] = {
    N_("The application sent an invalid request"): N_(
        "The application that sent you here made a mistake in its request, so signing in "
        "cannot continue."
    ),
    N_("Invalid request"): N_(
        "The application that sent you here made a mistake in its request, so signing in "
        "cannot continue."
    ),
    N_("Invalid sign-out request"): N_(
        "The application that sent you here made a mistake in its sign-out request, so it "
        "cannot continue."
    ),
    N_("Invalid form"): N_("The form that was sent could not be read."),
}

# Protocol descriptions that deserve their own explanation (protocol/authorize.py).
_UNKNOWN_CLIENT = Explanation(
    N_("Unknown application"),
    N_(
        "The application that sent you here is not registered with this sign-in service, so "
        "you cannot sign in to it from here."
    ),
    _GO_BACK,
)
_UNREGISTERED_REDIRECT = Explanation(
    N_("This application's return address is not registered"),
    N_(
        "For your safety, you are only ever sent back to addresses the application registered "
        "in advance, and the address in this request is not one of them."
    ),
    _GO_BACK,
)
_BY_DESCRIPTION: Mapping[str, Explanation] = {
    "client_id is required": _UNKNOWN_CLIENT,
    "unknown client_id": _UNKNOWN_CLIENT,
    "redirect_uri is required": _UNREGISTERED_REDIRECT,
    "redirect_uri is not registered for this client": _UNREGISTERED_REDIRECT,
}

# Plain-words messages from provider/ that come with a better next step than the default.
_NEXT_STEPS: Mapping[str, str] = {
    "This sign-in has expired": _START_AGAIN,
    "Sign-in started elsewhere": _START_AGAIN,
    "Already done": N_("You can close this page, or go back to the application."),
}

# Marked here so that the catalogs carry the provider's own plain-words texts too (the
# catalog test checks every literal ShowError text of provider/ is among them).
PROVIDER_TEXTS = (
    N_("This sign-in has expired"),
    N_(
        "The sign-in took too long or was already completed. Go back to the application and "
        "start again."
    ),
    N_("Go back to the application."),
    N_("Sign-in started elsewhere"),
    N_(
        "This sign-in was started in another browser. Go back to the application and start "
        "again here."
    ),
    N_("The form has expired"),
    N_("Reload the page and try again."),
    N_("Already done"),
    N_("This sign-in has already been completed."),
    N_("The sign-out form has expired"),
    N_("You are still signed in. Go back to the application and sign out again."),
    N_("The request repeats client_id or redirect_uri, so it cannot be trusted."),
    N_("The username or password is incorrect."),
    N_("Too many failed attempts. Wait a few minutes and try again."),
    N_("You are still signed in"),
    N_("You chose not to sign out."),
    N_("Choose Allow or Deny."),
)


def explain(title: str, message: str) -> Explanation:
    """What a page shows for the provider's `ShowError(title, message)`."""
    if title in _TECHNICAL_TITLES:
        known = _BY_DESCRIPTION.get(message)
        if known is not None:
            return Explanation(known.title, known.message, known.next_step, details=message)
        if message in PROVIDER_TEXTS:  # already in plain words
            return Explanation(title, message, _GO_BACK)
        return Explanation(title, _TECHNICAL_TITLES[title], _GO_BACK, details=message)
    return Explanation(title, message, _NEXT_STEPS.get(title))


def outage() -> Explanation:
    """The page for a database outage (503 with Retry-After)."""
    return Explanation(
        N_("Temporarily unavailable"),
        N_("Sign-in is unavailable for a moment."),
        N_("Wait a minute, then reload this page. Your application does not need to restart."),
    )
