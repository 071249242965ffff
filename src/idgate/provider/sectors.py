"""Fetching a client's `sector_identifier_uri` at registration (OpenID Connect Registration
1.0 §5; Core §8.1).

The document must be a JSON array listing every `redirect_uri` of the client; otherwise the
registration fails with `invalid_client_metadata`. It is fetched over https only (the URI was
checked by `parse_client_metadata`) under the fetch policy of provider/outbound.py: public
addresses only, no redirects, 5 seconds in all, 64 KiB. Every way the fetch can fail gets the
same answer, so registration cannot be used to probe what answers where (SECURITY.md SSRF-05).
"""

from __future__ import annotations

import httpx

from idgate.protocol.clients import ClientMetadata
from idgate.protocol.errors import InvalidClientMetadata
from idgate.protocol.subjects import MAX_SECTOR_DOCUMENT_BYTES, check_sector_document
from idgate.provider.outbound import FETCH_SECONDS, FetchFailed, fetch


class SectorDocuments:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout: float = FETCH_SECONDS,
        max_bytes: int = MAX_SECTOR_DOCUMENT_BYTES,
    ) -> None:
        self._http = http
        self._timeout = timeout
        self._max_bytes = max_bytes

    async def verify(self, metadata: ClientMetadata) -> None:
        """Check the client's sector document, if it registered a `sector_identifier_uri`."""
        if metadata.sector_identifier_uri is None:
            return
        body = await self._fetch(metadata.sector_identifier_uri)
        check_sector_document(body, metadata.redirect_uris)

    async def _fetch(self, uri: str) -> bytes:
        try:
            return await fetch(
                self._http,
                uri,
                max_bytes=self._max_bytes,
                accept="application/json",
                within=self._timeout,
            )
        except FetchFailed:
            raise InvalidClientMetadata("the sector_identifier_uri could not be fetched") from None
