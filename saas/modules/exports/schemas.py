"""The query of an export through the API."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from saas.modules.exports.formats import FORMATS


class ExportArgs(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(sorted(FORMATS)),
                           metadata={"description": "csv (semicolons, UTF-8 with BOM), xlsx or json."})


EXPORT_RESPONSES = {"200": {
    "description": "The database as it is now, streamed: corrections applied, erased people absent, call "
                   "notes included. Spreadsheet cells that would run as a formula start with an apostrophe.",
    "content": {
        "application/json": {"schema": {"type": "object", "required": ["rows"],
                                        "properties": {"rows": {"type": "array", "items": {"type": "object"}}}}},
        "text/csv": {"schema": {"type": "string"}},
        FORMATS["xlsx"][0]: {"schema": {"type": "string", "format": "binary"}},
    },
}}
