"""The check_session_iframe (OpenID Connect Session Management 1.0 §3.3, §4.2).

`GET /check_session` is the one page of idgate an RP may frame: the request is marked
FRAMEABLE, so the security-headers middleware leaves out X-Frame-Options and its default
`frame-ancestors 'none'` policy. The page is static; its script answers the RP's
postMessage from the OP browser state cookie (see protocol/session_state.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idgate.web.pages import Pages
from idgate.web.security import FRAMEABLE


async def check_session_iframe(request: Request) -> Response:
    request.scope[FRAMEABLE] = True
    pages: Pages = request.app.state.pages
    return pages.check_session()
