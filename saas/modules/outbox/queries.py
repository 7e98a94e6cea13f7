"""Reads of the outbox. The list shows no personal data; opening one mail decrypts it."""
from __future__ import annotations

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.outbox.models import OutboxMail


def page_of_mails(page: int, per_page: int) -> tuple[list[OutboxMail], int]:
    total = db.session.scalar(sa.select(sa.func.count(OutboxMail.id)))
    mails = db.session.scalars(
        sa.select(OutboxMail).order_by(OutboxMail.created_at.desc(), OutboxMail.id)
        .limit(per_page).offset((page - 1) * per_page)
    )
    return list(mails), total
