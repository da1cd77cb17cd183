"""Turning any uploaded image into the site's JPEG thumbnail."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile

# Large enough for a full-width card on a high-density screen.
MAX_SIZE = (1280, 720)


class NotAnImage(ValueError):
    pass


def to_jpeg(content) -> ContentFile:
    """Decode the whole image (catching truncated files) and re-encode it."""
    from PIL import Image, UnidentifiedImageError  # heavy: only when uploading

    content.seek(0)
    try:
        with Image.open(content) as image:
            image.load()
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise NotAnImage("The thumbnail is not an image this site can read.") from None
    finally:
        content.seek(0)

    picture.thumbnail(MAX_SIZE)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    return ContentFile(out.getvalue(), name="thumbnail.jpg")
