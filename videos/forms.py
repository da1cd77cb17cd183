from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from videos import containers, direct_uploads, thumbnails
from videos.models import State, Video
from videos.widgets import DirectUploadWidget


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "file" in self.fields:
            # The model allows an empty file only while a direct upload
            # processes; a form upload must bring one.
            self.fields["file"].required = True

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


class DirectUploadVideoForm(VideoAdminForm):
    """The S3-mode form: the video arrives as a reference to a direct upload."""

    upload_reference = forms.CharField(
        label="Video file",
        required=False,
        widget=DirectUploadWidget,
        help_text=(
            "MP4 (H.264) or WebM, sent from your browser straight to S3 in "
            "parts; stored under a name made of its SHA-256."
        ),
    )

    class Meta(VideoAdminForm.Meta):
        fields = [name for name in VideoAdminForm.Meta.fields if name != "file"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.file.name if self.instance.file else ""
        self.fields["upload_reference"].widget.current = current

    def clean_upload_reference(self):
        value = self.cleaned_data.get("upload_reference")
        if not value:
            if self.instance.file or self.instance.upload_id:
                return None
            raise forms.ValidationError("Upload a video file.")
        try:
            upload = direct_uploads.from_reference(value)
        except direct_uploads.UploadError as error:
            raise forms.ValidationError(error.message) from None
        if upload.state == State.FAILED:
            raise forms.ValidationError(
                f"That upload failed: {upload.failure} Upload the file again."
            )
        if upload.state not in (State.PROCESSING, State.READY):
            raise forms.ValidationError("That upload has not finished; wait for it.")
        taken = Video.objects.filter(upload=upload).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("That upload belongs to another video.")
        return upload

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload_reference")
        ready = self.instance.state == State.READY and self.instance.file
        if upload is not None:
            ready = ready or upload.state == State.READY
        if cleaned.get("is_published") and not ready:
            self.add_error(
                "is_published",
                "A video is published only once its file is ready; save it "
                "now and publish it when processing has finished.",
            )
        return cleaned

    def save(self, commit=True):
        video = super().save(commit=False)
        upload = self.cleaned_data.get("upload_reference")
        if commit:
            if upload is None:
                video.save()
            else:
                direct_uploads.attach(video, upload)
            self.save_m2m()
        else:
            # The admin saves the instance itself (save_model); it picks the
            # upload up from here.
            video._pending_upload = upload
        return video
