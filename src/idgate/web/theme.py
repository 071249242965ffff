"""How the pages look for one deployment: product name, logo, colours, and an override folder.

The folder (`theme_dir`) may hold any of:

- `templates/` — Jinja2 templates that replace packaged ones of the same name;
- `static/` — files served under `/static/`; an `idgate.css` there replaces the stylesheet;
- `locale/<language>/LC_MESSAGES/messages.po` — catalogs that add or override translations.

Colours from the settings are appended to the stylesheet as custom properties, so that the pages
keep one stylesheet and a Content-Security-Policy without inline styles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from idgate.config import Settings

__all__ = ["STATIC_DIR", "Theme", "is_colour", "text_colour_on"]

STATIC_DIR: Path = Path(__file__).resolve().parent / "static"
STYLESHEET_NAME = "idgate.css"

_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def is_colour(value: str) -> bool:
    """True for a CSS hex colour `#rgb` or `#rrggbb`, the only form settings accept."""
    return _HEX_COLOUR.fullmatch(value) is not None


def text_colour_on(background: str) -> str:
    """Black or white, whichever reads better on `background` (WCAG 2.2 relative luminance)."""
    digits = background.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    # Contrast with white is 1.05 / (L + 0.05), with black (L + 0.05) / 0.05: pick the larger.
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#000000"


@dataclass(frozen=True)
class Theme:
    """The look of the pages; the defaults are idgate's own."""

    product_name: str = "idgate"
    # A same-origin path (e.g. `/static/logo.svg` from the theme folder), shown in the header.
    logo_url: str | None = None
    accent_color: str | None = None
    accent_color_dark: str | None = None
    folder: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Theme:
        return cls(
            product_name=settings.product_name,
            logo_url=settings.logo_url,
            accent_color=settings.accent_color,
            accent_color_dark=settings.accent_color_dark,
            folder=Path(settings.theme_dir) if settings.theme_dir else None,
        )

    def __post_init__(self) -> None:
        for colour in (self.accent_color, self.accent_color_dark):
            if colour is not None and not is_colour(colour):
                raise ValueError(f"not a #rgb or #rrggbb colour: {colour!r}")
        if self.logo_url is not None and not _same_origin_path(self.logo_url):
            raise ValueError("logo_url must be a path on this server, like /static/logo.svg")

    @property
    def template_dir(self) -> Path | None:
        return self._sub("templates")

    @property
    def static_dir(self) -> Path | None:
        return self._sub("static")

    @property
    def locale_dir(self) -> Path | None:
        return self._sub("locale")

    def stylesheet(self) -> bytes:
        """The one stylesheet: the theme's or the packaged one, then the configured colours."""
        theme_css = self.static_dir / STYLESHEET_NAME if self.static_dir else None
        source = theme_css if theme_css and theme_css.is_file() else STATIC_DIR / STYLESHEET_NAME
        css = source.read_text(encoding="utf-8")
        overrides = []
        if self.accent_color:
            overrides.append(_accent_rule(":root", self.accent_color))
        if self.accent_color_dark:
            dark = _accent_rule(":root", self.accent_color_dark)
            overrides.append(f"@media (prefers-color-scheme: dark) {{\n  {dark}\n}}")
        if overrides:
            css += "\n/* Colours from idgate's settings. */\n" + "\n".join(overrides) + "\n"
        return css.encode("utf-8")

    def _sub(self, name: str) -> Path | None:
        if self.folder is None:
            return None
        path = self.folder / name
        return path if path.is_dir() else None


def _accent_rule(selector: str, colour: str) -> str:
    return (
        f"{selector} {{ --accent: {colour}; --focus: {colour}; "
        f"--accent-text: {text_colour_on(colour)}; }}"
    )


def _same_origin_path(url: str) -> bool:
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and all(0x20 < ord(c) < 0x7F and c not in "\"'<>\\" for c in url)
    )
