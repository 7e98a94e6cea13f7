"""Storing, replacing and deleting documents. The caller commits (the request's one commit point).

A file is checked before anything is written: its size, its type read from the content against the types
the document type allows, and no active content. Refusals raise `DocumentRefused` with a message for people.
"""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from saas.access import scopes
from saas.core import clock
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.documents import content as sniffing
from saas.modules.documents import types
from saas.modules.documents.models import Document
from saas.modules.files import operations as files
from saas.modules.files import queries as files_queries
from saas.plugins.definitions import DocumentType

PURPOSE = "document"


class DocumentRefused(DomainError):
    """A file or a type the document may not have; nothing is stored."""


def size_limit() -> int:
    return int(current_app.config.get("DOCUMENT_MAX_BYTES") or current_app.config["MAX_CONTENT_LENGTH"])


def check_file(doc_type: DocumentType, data: bytes) -> str:
    """The content type of an acceptable file, or DocumentRefused."""
    if not data:
        raise DocumentRefused(_("The file is empty."), errors={"file": [_("The file is empty.")]})
    if len(data) > size_limit():
        message = _("The file is larger than %(mb)s MB.", mb=size_limit() // (1024 * 1024) or 1)
        raise DocumentRefused(message, errors={"file": [message]}, status=413)
    found = sniffing.sniff(data)
    if found not in doc_type.content_types:
        message = _("This kind of file is not allowed for this document type.")
        raise DocumentRefused(message, errors={"file": [message]}, reason="content_type")
    if sniffing.has_active_content(data, found):
        message = _("The file contains active content (scripts or embedded files) and is refused.")
        raise DocumentRefused(message, errors={"file": [message]}, reason="active_content")
    return found


def attach(subject, type_name: str, data: bytes, filename: str | None, *, expires_on: date | None = None,
           uploaded_by: uuid.UUID | None = None) -> Document:
    """Keep a file as a document of `subject`, encrypted with the subject's key."""
    doc_type = _type_or_refuse(type_name)
    content_type = check_file(doc_type, data)
    stored = files.save(data, content_type, PURPOSE, subject_id=subject.id, filename=filename)
    document = Document(id=uuid.uuid4(), subject_id=subject.id, file_id=stored.id, doc_type=doc_type.name,
                        type_version=doc_type.version, board_only=doc_type.board_only, uploaded_on=clock.today(),
                        expires_on=expires_on, uploaded_by=uploaded_by)
    db.session.add(document)
    audit.record("document.create", "document", document.id, detail={"type": doc_type.name, "size": len(data)})
    return document


def replace(document: Document, data: bytes, filename: str | None) -> Document:
    """A new file for the same document (its type and dates stay); the old file leaves the disk on commit."""
    doc_type = _type_or_refuse(document.doc_type)
    content_type = check_file(doc_type, data)
    old = files_queries.get(document.file_id)
    stored = files.save(data, content_type, PURPOSE, subject_id=document.subject_id, filename=filename)
    document.file_id = stored.id
    document.uploaded_on = clock.today()
    db.session.flush()
    if old is not None:
        files.delete(old)
    audit.record("document.replace", "document", document.id, detail={"size": len(data)})
    return document


def delete(document: Document) -> None:
    stored = files_queries.get(document.file_id)
    db.session.delete(document)
    db.session.flush()
    if stored is not None:
        files.delete(stored)
    audit.record("document.delete", "document", document.id)


def remove_due(today: date | None = None) -> int:
    """The documents sweep: delete every document of the tenant whose own retention period has ended (types
    kept with the person go with the person, by the person's retention). Returns how many."""
    today = today or clock.today()
    by_name = {t.name: t for t in types.of_tenant()}
    timed = [name for name, t in by_name.items() if t.anchor]
    removed = 0
    for document in db.session.scalars(sa.select(Document).where(Document.doc_type.in_(timed))):
        due = types.due_on(by_name[document.doc_type], document.uploaded_on, document.expires_on)
        if due is not None and due <= today:
            delete(document)
            removed += 1
    if removed:
        audit.record("document.sweep", "document", None, detail={"removed": removed})
    return removed


def type_for(membership, name: str) -> DocumentType:
    """A type the member may file (board-only types for the board only), or DocumentRefused."""
    doc_type = _type_or_refuse(name)
    if not scopes.document_type_in_scope(membership, doc_type.board_only):
        _type_or_refuse("")
    return doc_type


def _type_or_refuse(name: str) -> DocumentType:
    doc_type = types.find(name)
    if doc_type is None:
        message = _("Unknown document type.")
        raise DocumentRefused(message, errors={"doc_type": [message]})
    return doc_type
