from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from videos import containers, thumbnails
from videos.models import Video


def _new_upload(value) -> UploadedFile | None:
    """The file just uploaded, or None when the field keeps its stored file."""
    return value if isinstance(value, UploadedFile) else None


def _refuse_oversize(upload, limit: int, what: str) -> None:
    if upload.size > limit:
        raise forms.ValidationError(
            f"{what} may be at most {filesizeformat(limit)}; "
            f"this one is {filesizeformat(upload.size)}."
        )


class VideoAdminForm(forms.ModelForm):
    """Checks uploads by their content before anything is stored."""

    class Meta:
        model = Video
        fields = [
            "title",
            "slug",
            "description",
            "file",
            "thumbnail",
            "is_published",
            "published_at",
        ]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        new = _new_upload(upload)
        if new is not None:
            _refuse_oversize(new, settings.HITRATE_VIDEO_MAX_BYTES, "A video")
            try:
                containers.sniff(new)
            except containers.NotAVideo as error:
                raise forms.ValidationError(str(error)) from None
        return upload

    def clean_thumbnail(self):
        upload = self.cleaned_data.get("thumbnail")
        new = _new_upload(upload)
        if new is not None:
            _refuse_oversize(new, settings.HITRATE_THUMBNAIL_MAX_BYTES, "A thumbnail")
            try:
                thumbnails.to_jpeg(new)
            except thumbnails.NotAnImage as error:
                raise forms.ValidationError(str(error)) from None
        return upload
