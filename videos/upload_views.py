"""The admin's JSON endpoints for direct-to-S3 video uploads.

Routed by VideoAdmin.get_urls, so only staff reach them, with the admin's
CSRF protection and its private, no-store policy.
"""

from __future__ import annotations

from functools import wraps
from http import HTTPStatus

from django.http import JsonResponse

from config.json_api import ApiError, endpoint, read_json
from videos import direct_uploads
from videos.models import State, Upload


def _api_errors(view):
    """Answer UploadError and S3 failures as JSON errors."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return view(request, *args, **kwargs)
        except direct_uploads.UploadError as error:
            raise ApiError(error.status, error.message) from None
        except (BotoCoreError, ClientError) as error:
            raise ApiError(
                HTTPStatus.BAD_GATEWAY, f"S3 did not accept the request: {error}"
            ) from None

    return wrapper


def _own_upload(request, upload_id) -> Upload:
    upload = Upload.objects.filter(pk=upload_id, created_by=request.user).first()
    if upload is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "No such upload of yours.")
    return upload


def _as_json(upload: Upload) -> dict:
    data = {
        "id": str(upload.pk),
        "state": upload.state,
        "filename": upload.filename,
        "size": upload.declared_size,
        "part_size": upload.part_size,
        "part_count": upload.part_count,
    }
    if upload.state in (State.PROCESSING, State.READY):
        data["reference"] = direct_uploads.reference(upload)
    if upload.state == State.READY:
        data["stored_as"] = upload.stored_name
    if upload.failure:
        data["failure"] = upload.failure
    return data


@endpoint("POST")
@_api_errors
def start(request):
    data = read_json(request, ["filename", "size", "content_type"])
    upload = direct_uploads.start(
        request.user, str(data["filename"]), data["size"], str(data["content_type"])
    )
    return JsonResponse(_as_json(upload), status=HTTPStatus.CREATED)


@endpoint("GET")
@_api_errors
def status(request, upload_id):
    upload = _own_upload(request, upload_id)
    data = _as_json(upload)
    data["received"] = [
        part["PartNumber"] for part in direct_uploads.received_parts(upload)
    ]
    return JsonResponse(data)


@endpoint("POST")
@_api_errors
def sign(request, upload_id):
    upload = _own_upload(request, upload_id)
    data = read_json(request, ["parts"])
    if not isinstance(data["parts"], list):
        raise ApiError(HTTPStatus.BAD_REQUEST, "parts must be a list of numbers.")
    return JsonResponse({"urls": direct_uploads.part_urls(upload, data["parts"])})


@endpoint("POST")
@_api_errors
def complete(request, upload_id):
    upload = direct_uploads.complete(_own_upload(request, upload_id))
    if upload.state == State.FAILED:
        raise ApiError(HTTPStatus.BAD_GATEWAY, upload.failure)
    accepted = HTTPStatus.OK if upload.state == State.READY else HTTPStatus.ACCEPTED
    return JsonResponse(_as_json(upload), status=accepted)


@endpoint("POST")
@_api_errors
def abort(request, upload_id):
    upload = _own_upload(request, upload_id)
    if upload.state not in (State.UPLOADING, State.FAILED):
        raise ApiError(
            HTTPStatus.CONFLICT, f"A {upload.get_state_display()} upload stays."
        )
    direct_uploads.abort(upload)
    return JsonResponse({"id": str(upload_id), "state": "aborted"})
