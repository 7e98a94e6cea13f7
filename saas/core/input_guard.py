"""One check for the whole app: text a database cannot store is refused as a 400 with a message.

PostgreSQL refuses a NUL character in text and psycopg cannot encode a lone UTF-16 surrogate (JSON may
carry `\\u0000` and `\\ud800`); either used to surface as a 500 from whatever query met it first (the
login form's e-mail lookup, a tenant slug in the URL, a search). This before_request looks at the path,
the query string, form fields (names and values, file names included) and a JSON body, before any view.
"""
from __future__ import annotations

from flask import request
from werkzeug.exceptions import BadRequest

MAX_DEPTH = 64   # deeper JSON than any API schema accepts; walking it further would only cost time


class UnstorableText(BadRequest):
    description = ("The request contains a NUL character or text that is not valid Unicode. "
                   "Remove it and try again.")


def _bad(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:   # a lone surrogate
        return True
    return False


def _json_has_bad_text(value, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, str):
        return _bad(value)
    if isinstance(value, dict):
        return any(_bad(key) or _json_has_bad_text(item, depth + 1) for key, item in value.items())
    if isinstance(value, list):
        return any(_json_has_bad_text(item, depth + 1) for item in value)
    return False


def _texts():
    yield request.path
    for key, value in request.args.items(multi=True):
        yield key
        yield value
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        for key, value in request.form.items(multi=True):
            yield key
            yield value
        for key, upload in request.files.items(multi=True):
            yield key
            yield upload.filename or ""


def refuse_unstorable_text() -> None:
    if any(_bad(text) for text in _texts()):
        raise UnstorableText()
    if request.is_json and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if _json_has_bad_text(request.get_json(silent=True)):
            raise UnstorableText()
