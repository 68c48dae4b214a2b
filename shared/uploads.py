"""A file sent to a route allowed past the 256 KB of JSON calls (shared/guard.py): the raw
body, or a multipart ``file``; 413 past its own limit, read no further than that."""
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from shared.errors import ApiError


def file_body(limit: int, too_large: str) -> bytes:
    """The body (or its multipart ``file``) of at most ``limit`` bytes; 413 ``too_large``
    over it, 422 naming ``file`` when a multipart body has none."""
    if (request.content_length or 0) > limit + 64 * 1024:
        raise ApiError(413, too_large)
    request.max_content_length = limit + 64 * 1024
    try:
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise ApiError(422, "Joignez le fichier (champ « file »).", {"file": ["Champ obligatoire."]})
            body = upload.read(limit + 1)
        else:
            body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise ApiError(413, too_large) from None
    if len(body) > limit:
        raise ApiError(413, too_large)
    return body
