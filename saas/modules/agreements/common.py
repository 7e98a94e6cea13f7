"""What the writes of agreements share: the limits of their fields, the current tenant, the claim a job
starts with, the reason of a refusal, a note to our countersigner, and the times printed in a trail."""
from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from saas.core import clock
from saas.core.errors import DomainError
from saas.core.tenancy import require_tenant_id
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.agreements import queries, rendering
from saas.modules.agreements.models import Agreement
from saas.modules.outbox import operations as outbox
from saas.modules.tenants.models import Tenant

TITLE_MAX = 200
NAME_MAX = 200
REASON_MAX = 500
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KVK = re.compile(r"^\d{8}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")


def current_tenant() -> Tenant:
    return db.session.get(Tenant, require_tenant_id())


def claim(agreement: Agreement, *conditions, **values) -> bool:
    """One conditional UPDATE as the first write of a job: of two runs, one wins; on PostgreSQL the row
    stays locked until commit, on SQLite the database write lock is taken. Refreshes the agreement."""
    won = db.session.execute(
        sa.update(Agreement).where(Agreement.id == agreement.id, *conditions)
        .values(updated_at=clock.now(), **values).execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.refresh(agreement)
    return won


def reason_text(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text or len(text) > REASON_MAX:
        raise DomainError(_("Give a reason of at most %(limit)s characters.", limit=REASON_MAX),
                          errors={"reason": _("Give a reason.")})
    return text


def mail_countersigner(agreement: Agreement, kind: str, subject: str, template_name: str, **values) -> None:
    """A note to our countersigner (expired, objection), in the tenant's language."""
    signer = queries.tenant_signer(agreement)
    if signer is None or not signer.email:
        return
    tenant = current_tenant()
    link = external_url("agreements.show", tenant=tenant.slug, agreement_id=agreement.id)
    with force_locale(tenant.locale or "nl"):
        body = rendering.render_platform(template_name, agreement=agreement, link=link, **values)
        outbox.queue_mail(signer.email, str(subject) % {"number": agreement.number}, body, template=kind)


def utc_text(moment: datetime | None) -> str:
    return queries.aware(moment).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def local_text(moment: datetime | None) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)") if moment else ""
