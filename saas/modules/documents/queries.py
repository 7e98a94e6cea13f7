"""Reads of documents, limited to what the current member may see (the person, then board-only types);
every listing, view and download is audited with ids only."""
from __future__ import annotations

import sqlalchemy as sa

from saas.access import policy, scopes
from saas.core.web import get_or_404
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.documents.models import Document
from saas.modules.files import queries as files_queries
from saas.modules.files.models import StoredFile
from saas.modules.subjects import queries as subjects_queries


def of_subject(subject) -> list[tuple[Document, StoredFile]]:
    """The documents of a person the current member may see, newest first (listing audited)."""
    query = (sa.select(Document, StoredFile).join(StoredFile, StoredFile.id == Document.file_id)
             .where(Document.subject_id == subject.id, *scopes.document_conditions(subjects_queries.viewer()))
             .order_by(Document.created_at.desc()))
    rows = [tuple(row) for row in db.session.execute(query)]
    audit.record("document.list", "data_subject", subject.id, detail={"count": len(rows)})
    return rows


def find(subject, document_id, action: str = "document.read") -> Document:
    """A document of this person the current member may see; otherwise 404 (audited as a refusal)."""
    document = get_or_404(Document, document_id)
    if document.subject_id != subject.id or not scopes.can_see_document(subjects_queries.viewer(), document):
        policy.refuse("view", "document", document.id, audit_as=action)
    return document


def file_of(document: Document) -> StoredFile:
    return files_queries.get(document.file_id)


def download(document: Document) -> tuple[StoredFile, bytes]:
    """The decrypted file, its download audited."""
    stored = file_of(document)
    data = files_queries.read(stored)
    audit.record("document.download", "document", document.id, detail={"type": document.doc_type})
    return stored, data
