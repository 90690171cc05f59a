"""The async Graph API client: sends, read receipts and media, over one pooled HTTP connection pool.

`_call` is the one point that touches the network (swap it to fake Meta); `_request` adds JSON decoding and
maps error answers to `linda.whatsapp.errors` exceptions; the typed methods build on `_request`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from linda.whatsapp.errors import GraphAPIError, TransportError, from_response


@dataclass(frozen=True)
class SendResult:
    """An accepted send: the message id (wamid), the recipient's wa_id, the `to` given, the whole answer."""

    wamid: str
    wa_id: str
    input: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class MediaInfo:
    """A media object: a short-lived download `url` (needs the bearer token) and the file's facts."""

    url: str
    mime_type: str
    sha256: str
    file_size: int
    id: str = ""


class GraphClient:
    """Client of the Graph API at `base_url` (which includes the version, e.g. ".../v23.0").

    `access_token` is the default token; every method takes `access_token=` to use a number's own token.
    An `http` client passed in is used as is and not closed; otherwise the client owns its pool.
    """

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- typed calls ----------------------------------------------------------------------------------------

    async def send(
        self, phone_number_id: str, body: dict[str, Any], *, access_token: str | None = None
    ) -> SendResult:
        """POST a full message body (as built by `linda.whatsapp.messages.request_body`)."""
        answer = await self._request("POST", f"{phone_number_id}/messages", access_token, json=body)
        contact = (answer.get("contacts") or [{}])[0]
        try:
            wamid = str(answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError) as exc:
            raise GraphAPIError(
                0, f"answer without a message id: {answer}", http_status=200, raw=answer
            ) from exc
        return SendResult(
            wamid=wamid,
            wa_id=str(contact.get("wa_id", "")),
            input=str(contact.get("input", body.get("to", ""))),
            raw=answer,
        )

    async def mark_as_read(
        self, phone_number_id: str, message_id: str, *, access_token: str | None = None
    ) -> None:
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        await self._request("POST", f"{phone_number_id}/messages", access_token, json=body)

    async def upload_media(
        self,
        phone_number_id: str,
        data: bytes,
        mime_type: str,
        filename: str,
        *,
        access_token: str | None = None,
    ) -> str:
        """Upload a file; returns its media id, usable in sends as `{"id": ...}`."""
        answer = await self._request(
            "POST",
            f"{phone_number_id}/media",
            access_token,
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, data, mime_type)},
        )
        return str(answer["id"])

    async def get_media(self, media_id: str, *, access_token: str | None = None) -> MediaInfo:
        answer = await self._request("GET", media_id, access_token)
        return MediaInfo(
            url=str(answer["url"]),
            mime_type=str(answer.get("mime_type", "")),
            sha256=str(answer.get("sha256", "")),
            file_size=int(answer.get("file_size") or 0),
            id=str(answer.get("id", media_id)),
        )

    async def download_media(self, url: str, *, access_token: str | None = None) -> bytes:
        """The bytes behind a url from `get_media` (fetched with the bearer token)."""
        response = await self._call("GET", url, access_token)
        if response.status_code != 200:
            raise from_response(_json_or_none(response), response.status_code)
        return response.content

    # -- HTTP -----------------------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, access_token: str | None, **kwargs: Any) -> Any:
        """One Graph API call; the decoded JSON answer, or the matching GraphAPIError raised."""
        response = await self._call(method, f"{self.base_url}/{path}", access_token, **kwargs)
        body = _json_or_none(response)
        if response.status_code >= 400 or not isinstance(body, dict) or "error" in body:
            raise from_response(body, response.status_code)
        return body

    async def _call(self, method: str, url: str, access_token: str | None, **kwargs: Any) -> httpx.Response:
        """The single network point: the raw answer, or TransportError when there is none."""
        headers = {"Authorization": f"Bearer {access_token or self.access_token}"}
        try:
            return await self._http.request(method, url, headers=headers, **kwargs)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # Only a failed connect proves the request never left; anything later may have reached Meta.
            maybe_sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            raise TransportError(
                f"{method} {url}: {type(exc).__name__}: {exc}", maybe_sent=maybe_sent
            ) from exc


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
