"""The comments API: a list that answers 304s cheaply, and guarded writes.

Reads carry no credentials and never touch the session: the CDN route in
front of this API forwards no cookies, because CloudFront answers
conditional requests only on such routes. Writes authenticate with a bearer
token (accounts.tokens), which a browser never attaches by itself, so they
are exempt from CSRF. Edits and deletes require If-Match, so two people
editing one comment never silently overwrite each other.
"""

from __future__ import annotations

import math
from http import HTTPStatus

from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.urls import reverse
from django.utils.cache import parse_etags
from django.views.decorators.csrf import csrf_exempt

from accounts.tokens import TokenError, user_for
from caching.decorators import cache_policy
from caching.policies import COMMENTS
from comments.models import MAX_LENGTH, Comment
from config.json_api import ApiError, endpoint, page_number, read_json
from videos.models import Video

PER_PAGE = 20
LISTED = ("body", "version", "created_at", "updated_at", "author__username")


@cache_policy(COMMENTS)
@endpoint("GET", "POST")
@csrf_exempt
def comments(request):
    if request.method == "POST":
        return _post(request)

    slug = request.GET.get("video", "")
    if not slug:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Name a video: ?video=<slug>.")
    number = page_number(request)

    # The one query a 304 costs: the video's comments_version changes with
    # every change to its comments, so it stands for the whole list.
    row = Video.objects.comments_state(slug)
    if row is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"No published video is {slug!r}.")
    video_id, version, count = row
    etag = f'"c-{video_id}-{version}-p{number}"'
    if _none_match(request, etag):
        return _not_modified(etag)

    # The count is kept on the video with its version, so a page is one
    # indexed slice and never a COUNT over every comment.
    pages = max(1, math.ceil(count / PER_PAGE))
    if number > pages:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            f"There is no page {number}: the last page is {pages}.",
        )
    start = (number - 1) * PER_PAGE
    shown = (
        Comment.objects.visible()
        .filter(video_id=video_id)
        .select_related("author")
        # Only what the JSON shows: no password hashes or emails to fetch.
        .only(*LISTED)[start : start + PER_PAGE]
    )
    data = {
        "video": slug,
        "page": number,
        "pages": pages,
        "count": count,
        "comments": [_as_json(comment) for comment in shown],
    }
    return JsonResponse(data, headers={"ETag": etag})


def _post(request):
    author = _writer(request)
    data = read_json(request, required=["video", "body"])
    slug, body = data["video"], _clean_body(data["body"])
    if not isinstance(slug, str):
        raise ApiError(HTTPStatus.BAD_REQUEST, "video must be a slug in a string.")

    video_id = (
        Video.objects.published().filter(slug=slug).values_list("id", flat=True)
    ).first()
    if video_id is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"No published video is {slug!r}.")

    comment = Comment.post(video_id, author, body)
    return JsonResponse(
        _as_json(comment),
        status=HTTPStatus.CREATED,
        headers={"Location": _url(comment), "ETag": comment.etag},
    )


@cache_policy(COMMENTS)
@endpoint("GET", "PUT", "DELETE")
@csrf_exempt
def comment(request, pk: int):
    if request.method in ("GET", "HEAD"):
        found = _find(pk)
        if _none_match(request, found.etag):
            return _not_modified(found.etag)
        return JsonResponse(_as_json(found), headers={"ETag": found.etag})

    # RFC 9110 section 13.2.1: preconditions are evaluated only once the
    # request would otherwise succeed, so sign-in, existence and ownership
    # come first, and the request content is read only after them.
    writer = _writer(request)
    found = _find(pk)
    if found.author_id != writer.pk and not writer.is_staff:
        raise ApiError(
            HTTPStatus.FORBIDDEN, "Only the author or staff may change this comment."
        )
    _require_match(request, found.etag)

    if request.method == "DELETE":
        if not found.withdraw():
            raise _lost_race()
        return HttpResponse(status=HTTPStatus.NO_CONTENT)

    body = _clean_body(read_json(request, required=["body"])["body"])
    if not found.revise(body):
        raise _lost_race()
    return JsonResponse(_as_json(found), headers={"ETag": found.etag})


def _as_json(comment: Comment) -> dict:
    return {
        "id": comment.pk,
        "url": _url(comment),
        "author": comment.author.get_username(),
        "body": comment.body,
        "created_at": comment.created_at.isoformat(),
        "updated_at": comment.updated_at.isoformat(),
        "edited": comment.edited,
    }


def _url(comment: Comment) -> str:
    return reverse("comments:detail", args=[comment.pk])


def _find(pk: int) -> Comment:
    found = Comment.objects.public().select_related("author").filter(pk=pk).first()
    if found is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"There is no comment {pk}.")
    return found


def _writer(request):
    """The user the bearer token names; cookies never authenticate here."""
    try:
        return user_for(request)
    except TokenError as problem:
        challenge = "Bearer"
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            # RFC 6750 section 3.1: a token was sent and is not usable.
            challenge = 'Bearer error="invalid_token"'
        raise ApiError(
            HTTPStatus.UNAUTHORIZED, str(problem), {"WWW-Authenticate": challenge}
        ) from None


def _clean_body(value) -> str:
    if not isinstance(value, str):
        raise ApiError(HTTPStatus.BAD_REQUEST, "body must be a string.")
    body = value.strip()
    if not body:
        raise ApiError(HTTPStatus.BAD_REQUEST, "body is empty: write something.")
    if len(body) > MAX_LENGTH:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"body is {len(body)} characters long; the limit is {MAX_LENGTH}.",
        )
    return body


def _none_match(request, etag: str) -> bool:
    """Does If-None-Match name this representation? (RFC 9110 section 13.1.2)

    The comparison is weak: a CDN that compresses a response marks its ETag
    weak, and the client sends it back so.
    """
    value = request.headers.get("If-None-Match")
    if value is None:
        return False
    tags = parse_etags(value)
    if tags == ["*"]:
        return True
    return _opaque(etag) in {_opaque(tag) for tag in tags}


def _require_match(request, etag: str) -> None:
    """Check If-Match (RFC 9110 section 13.1.1), which writes must send."""
    value = request.headers.get("If-Match")
    if value is None:
        # RFC 6585 section 3: a write without a condition is refused, so
        # that it cannot overwrite a change its author has not seen.
        raise ApiError(
            HTTPStatus.PRECONDITION_REQUIRED,
            "Send If-Match with the comment's ETag, so that a change you "
            "have not seen is never overwritten.",
        )
    tags = parse_etags(value)
    # The comparison is strong: a weak tag never matches.
    if tags != ["*"] and etag not in tags:
        raise _lost_race()


def _lost_race() -> ApiError:
    # RFC 9110 section 15.5.13.
    return ApiError(
        HTTPStatus.PRECONDITION_FAILED,
        "The comment has changed since you read it: fetch it again.",
    )


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def _not_modified(etag: str) -> HttpResponseNotModified:
    # RFC 9110 section 15.4.5: a 304 repeats the ETag a 200 would carry;
    # cache_policy adds its Cache-Control.
    response = HttpResponseNotModified()
    response["ETag"] = etag
    return response
