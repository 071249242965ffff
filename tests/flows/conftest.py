from flows_support import browser, http, op  # type: ignore[import-not-found]  # noqa: F401
