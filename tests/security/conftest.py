from security_support import (  # type: ignore[import-not-found]  # noqa: F401
    browser,
    c1,
    c2,
    http,
    op,
    open_http,
    p1,
    second_http,
)
