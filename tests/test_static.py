"""Static files: immutable under their hashed names, revalidated under plain ones."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage

from caching.policies import ERROR, STATIC, STATIC_UNHASHED


def test_a_hashed_name_is_immutable(client):
    hashed = staticfiles_storage.stored_name("hitrate.css")

    response = client.get(f"/static/{hashed}")

    assert hashed != "hitrate.css"
    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == STATIC.cache_control
    assert response["Content-Type"] == "text/css; charset=utf-8"


def test_a_plain_name_is_revalidated(client):
    response = client.get("/static/hitrate.css")

    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == STATIC_UNHASHED.cache_control


@pytest.mark.parametrize("path", ["/static/no-such.css", "/static/../manage.py"])
def test_a_missing_or_outside_file_is_not_found(client, path):
    response = client.get(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Cache-Control"] == ERROR.cache_control
