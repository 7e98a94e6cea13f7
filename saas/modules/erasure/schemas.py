"""What `DELETE /api/v1/<tenant>/subjects/<id>` answers when a legal hold kept something (200; 204 when all
was erased): field names, the legal basis and the end date of the duty, never the kept values."""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields as f


class KeptFieldsOut(Schema):
    fields = f.List(f.String(), required=True, metadata={
        "description": "Names of the fields kept, restricted to this duty (e.g. family_name, iban)."})
    legal_basis = f.String(required=True, metadata={
        "description": "Why they are kept, e.g. \"Fiscale bewaarplicht (art. 52 lid 4 AWR)\"."})
    until = f.Date(required=True, allow_none=True, metadata={
        "description": "First day the duty no longer keeps them (then they are erased too); null while the "
                       "duty's period has not started (e.g. the relationship has not ended)."})
    hold = f.String(required=True, metadata={"description": "The legal hold's rule, `name@vN`."})


class ErasureOut(Schema):
    subject_id = f.UUID(required=True)
    status = f.String(required=True, metadata={
        "description": "`restricted`: erased except the kept fields (a 204 means `purged`: all erased)."})
    erased_fields = f.List(f.String(), required=True, metadata={"description": "Fields erased."})
    kept = f.List(f.Nested(KeptFieldsOut), required=True)
    removed = f.Dict(keys=f.String(), values=f.Integer(), required=True, metadata={
        "description": "Other records naming the person that were erased, per kind (consents, call notes, ...)."})
