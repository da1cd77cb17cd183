"""HTTP details Django's own middleware gets slightly wrong."""

from __future__ import annotations


class NotModifiedMiddleware:
    """Take back the ``Content-Length: 0`` CommonMiddleware puts on a 304.

    RFC 9110 section 8.6: a 304 may carry Content-Length only if it equals
    the length the 200 would have had. Zero is that length only for an empty
    resource, so a 304 keeps the header only when its view set it on purpose.
    It must come before CommonMiddleware in MIDDLEWARE, to run after it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 304 and response.get("Content-Length") == "0":
            del response["Content-Length"]
        return response
