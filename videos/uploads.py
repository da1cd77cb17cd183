"""An upload handler that hashes each file while it streams to disk."""

from __future__ import annotations

import hashlib

from django.core.files.uploadhandler import TemporaryFileUploadHandler


class HashingUploadHandler(TemporaryFileUploadHandler):
    """Write uploads to a temporary file, computing their SHA-256 on the way.

    The content-hashed video name is then known the moment the upload ends,
    without reading the file a second time or holding it in memory.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.hasher = hashlib.sha256()

    def receive_data_chunk(self, raw_data, start):
        self.hasher.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self.hasher.hexdigest()
        return uploaded
