"""Reading request bodies, with every way a client can get one wrong named as such."""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from notifgql.errors import BadUserInput, ClientGone


async def read_body(request: web.Request) -> bytes:
    """The request's body, decoded as its Content-Encoding says.

    A body that does not decode (``Content-Encoding: gzip`` over bytes that are not gzip)
    is the client's mistake, a 400; a client that hangs up halfway has nobody left to
    answer. Too large a body raises aiohttp's ``HTTPRequestEntityTooLarge`` unchanged.
    """
    try:
        return await request.read()
    except RequestPayloadError:
        encoding = request.headers.get("Content-Encoding", "identity")
        raise BadUserInput(
            f"The body could not be decoded as Content-Encoding {encoding!r}", parameter="body"
        ) from None
    except ConnectionResetError:
        raise ClientGone from None
