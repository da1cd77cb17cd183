"""The admin widget that sends a video file from the browser straight to S3."""

from __future__ import annotations

from django import forms


class DirectUploadWidget(forms.HiddenInput):
    """A file picker, progress bar and buttons around a hidden reference.

    The file itself is never posted with the form: the script uploads it to
    S3 in parts and puts the signed reference of the finished upload into
    the hidden input, which is all the form sends.
    """

    template_name = "admin/videos/direct_upload_widget.html"
    # Its input is hidden, but a person uses the picker around it: the admin
    # would hide the whole row, label and help text of a hidden widget.
    is_hidden = False

    class Media:
        js = ["js/direct-upload.js"]
        css = {"all": ["direct-upload.css"]}

    def __init__(self, *args, current: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.current = current

    def id_for_label(self, id_):
        """The label names the file picker, the control a person uses."""
        return f"{id_}_file" if id_ else id_

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["current"] = self.current
        return context
