"""The languages of idgate's pages: message catalogs, and choosing one per request.

Catalogs are gettext `.po` files (`locale/<language>/LC_MESSAGES/messages.po`), English being
the source language (the msgids). They are compiled in memory at start-up with Babel rather than
shipped as `.mo` files: a compiled catalog in git can silently fall behind its `.po`, compiling a
few hundred messages takes milliseconds, and an operator's theme can add or override `.po` files
without a build step. Fuzzy entries are left out, as `msgfmt` does.

The language is chosen from the authorization (or logout) request's `ui_locales` first (OIDC
Core §3.1.2.1, RP-Initiated Logout 1.0 §2), then the browser's `Accept-Language` (RFC 9110
§12.5.4), then English. `claims_locales` is a different thing (the languages of Claims released
to the client) and never picks the page language.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "DEFAULT_LANGUAGE",
    "LOCALE_DIR",
    "N_",
    "Catalogs",
    "Language",
    "parse_accept_language",
]

LOCALE_DIR: Path = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "en"
CATALOG_NAME = "messages"
# Accept-Language is bounded before parsing: a browser sends a handful of tags.
_MAX_ACCEPT_LANGUAGE = 512
_MAX_TAGS = 32


def N_(message: str) -> str:
    """Mark `message` for extraction into the catalogs; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Language:
    """One language the pages can be shown in: its BCP 47 tag and its translations."""

    tag: str
    translations: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)


class Catalogs:
    """Every language idgate can speak: English, each packaged catalog, and the theme's.

    A theme's `locale/` folder may add a language, or override messages of a packaged one (its
    entries win; messages it does not have fall back to the packaged catalog).
    """

    def __init__(self, *, extra_dirs: Sequence[Path] = ()) -> None:
        languages: dict[str, Language] = {
            DEFAULT_LANGUAGE: Language(DEFAULT_LANGUAGE, gettext.NullTranslations())
        }
        tags = set(_catalog_tags(LOCALE_DIR))
        for folder in extra_dirs:
            tags |= set(_catalog_tags(folder))
        for tag in sorted(tags - {DEFAULT_LANGUAGE}):
            translations: gettext.NullTranslations = gettext.NullTranslations()
            # Lowest priority first: each later catalog answers before the ones it falls back on.
            for folder in (LOCALE_DIR, *extra_dirs):
                po = folder / tag / "LC_MESSAGES" / f"{CATALOG_NAME}.po"
                if po.is_file():
                    compiled = _compile(po, tag)
                    compiled.add_fallback(translations)
                    translations = compiled
            languages[tag] = Language(tag, translations)
        self._languages = languages

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(sorted(self._languages))

    def get(self, tag: str) -> Language:
        return self._languages.get(tag.lower(), self._languages[DEFAULT_LANGUAGE])

    def choose(
        self, ui_locales: Sequence[str] = (), accept_language: str | None = None
    ) -> Language:
        """The language for a page: `ui_locales` in order, then `Accept-Language`, then English."""
        for tags in (ui_locales, parse_accept_language(accept_language)):
            found = self._first_available(tags)
            if found is not None:
                return found
        return self._languages[DEFAULT_LANGUAGE]

    def _first_available(self, tags: Iterable[str]) -> Language | None:
        # `de-CH` falls back to `de`, but only after the exact tags ranked above it were tried.
        for tag in tags:
            lowered = tag.strip().lower()
            for candidate in (lowered, lowered.split("-", 1)[0]):
                if candidate in self._languages:
                    return self._languages[candidate]
        return None


def parse_accept_language(header: str | None) -> list[str]:
    """The language ranges of an `Accept-Language` header, best first (RFC 9110 §12.5.4).

    Malformed items are skipped, `q=0` means "not this one", `*` is left out (it adds nothing
    over the default); equal weights keep the header's order.
    """
    if not header or len(header) > _MAX_ACCEPT_LANGUAGE:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:_MAX_TAGS]):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or not all(part.isalnum() for part in tag.split("-")):
            continue
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
        if 0 < weight <= 1:
            ranked.append((-weight, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _catalog_tags(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return [
        entry.name.lower()
        for entry in folder.iterdir()
        if (entry / "LC_MESSAGES" / f"{CATALOG_NAME}.po").is_file()
    ]


def _compile(po: Path, tag: str) -> gettext.GNUTranslations:
    with po.open("rb") as source:
        catalog = read_po(source, locale=tag, domain=CATALOG_NAME)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
