"""Drafting agreements: create and edit a draft with its signers and sub-processor annex, and make the
next version of an agreement (which supersedes the old one, at once or when it is completed)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from saas.core import clock
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.agreements import common, lifecycle, merge_fields, queries
from saas.modules.agreements.events import record_event
from saas.modules.agreements.models import ROLES, Agreement, AgreementTemplate, Signer, SubProcessor
from saas.modules.assignments.models import Assignment
from saas.modules.audit import operations as audit

MAX_REMINDER_DAYS = 30


@dataclass
class AgreementInput:
    """What the create/edit form (or a test) provides; `operations` checks all of it."""

    template_id: uuid.UUID | None
    tenant_role: str
    counterparty_name: str
    counterparty_kvk: str | None
    fields: dict
    signer_name: str
    signer_email: str
    signer_function: str | None
    countersigner_id: uuid.UUID | None
    assignment_id: uuid.UUID | None = None
    client_org_id: uuid.UUID | None = None
    reminder_days: int = 3
    sub_processors: str = ""        # the annex, one per line: "name | country | purpose"


def parse_sub_processors(text: str) -> tuple[list[tuple[str, str, str]], str | None]:
    """Lines "name | country | purpose" (country: two letters); returns the rows or an error."""
    rows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[0] or not parts[2]:
            return [], _("Line %(n)s: write “name | country | purpose”.", n=number)
        name, country, purpose = parts[0], parts[1].upper(), parts[2]
        if not common.COUNTRY.match(country):
            return [], _("Line %(n)s: the country is a two-letter code such as NL.", n=number)
        if len(name) > common.NAME_MAX or len(purpose) > 300:
            return [], _("Line %(n)s is too long.", n=number)
        rows.append((name, country, purpose))
    return rows, None


@dataclass
class _Checked:
    values: dict                    # the merge values
    template: AgreementTemplate
    countersigner: object           # a User with the admin role
    assignment: Assignment | None
    annex: list[tuple[str, str, str]]


def _check_input(data: AgreementInput, agreement: Agreement | None) -> _Checked:
    """Everything wrong with the input, by field, at once (DomainError); or the checked values."""
    errors: dict[str, str] = {}
    template = db.session.get(AgreementTemplate, data.template_id) if data.template_id else None
    # a draft may keep the (since retired) template version it was made with
    keeps_its_own = agreement is not None and template is not None and template.id == agreement.template_id
    if template is None or (template.status != "published" and not keeps_its_own):
        errors["template_id"] = _("Choose a published template.")
    if data.tenant_role not in ROLES:
        errors["tenant_role"] = _("Choose whether your organisation is the controller or the processor.")
    if not data.counterparty_name.strip() or len(data.counterparty_name) > common.NAME_MAX:
        errors["counterparty_name"] = _("Enter the name of the other party.")
    if data.counterparty_kvk and not common.KVK.match(data.counterparty_kvk):
        errors["counterparty_kvk"] = _("A KvK number has 8 digits.")
    values, field_errors = merge_fields.clean(data.fields)
    errors.update(field_errors)
    if not data.signer_name.strip() or len(data.signer_name) > common.NAME_MAX:
        errors["signer_name"] = _("Enter the name of the person who signs for the other party.")
    if not common.EMAIL.match(data.signer_email.strip()) or len(data.signer_email) > 254:
        errors["signer_email"] = _("Enter a valid email address.")
    countersigner = next((u for u in queries.tenant_admins() if u.id == data.countersigner_id), None)
    if countersigner is None:
        errors["countersigner_id"] = _("Choose an administrator of your organisation.")
    if not 0 <= data.reminder_days <= MAX_REMINDER_DAYS:
        errors["reminder_days"] = _("Enter 0 (no reminders) to %(limit)s days.", limit=MAX_REMINDER_DAYS)
    annex, annex_error = parse_sub_processors(data.sub_processors)
    if annex_error:
        errors["sub_processors"] = annex_error
    assignment = _check_assignment(data.assignment_id, agreement, errors)
    if errors:
        raise DomainError(_("Please correct the marked fields."), errors=errors)
    return _Checked(values, template, countersigner, assignment, annex)


def _check_assignment(assignment_id, agreement: Agreement | None, errors: dict) -> Assignment | None:
    if assignment_id is None:
        return None
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        errors["assignment_id"] = _("Choose an assignment of your organisation.")
        return None
    current = db.session.get(Agreement, assignment.agreement_id) if assignment.agreement_id else None
    taken = current is not None and current.status in queries.LIVE_STATES
    if taken and (agreement is None or current.id != agreement.id):
        errors["assignment_id"] = _("This assignment already has agreement %(number)s: make a new version of it "
                                    "instead.", number=current.number)
    return assignment


def create_agreement(data: AgreementInput, user_id: uuid.UUID | None) -> Agreement:
    """A draft agreement with its signers (the other party's signer and our countersigner) and its
    sub-processor annex; linked to its assignment when one is given."""
    checked = _check_input(data, None)
    agreement = Agreement(number=queries.next_number(clock.today().year), template_id=checked.template.id,
                          status="draft", version=1, created_by=user_id)
    _apply_terms(agreement, data, checked)
    db.session.add(agreement)
    db.session.flush()
    _apply_people(agreement, data, checked, {})
    db.session.flush()
    record_event(agreement, "created", actor_user_id=user_id)
    audit.record("agreement.create", "agreement", agreement.id,
                 detail={"template_id": str(checked.template.id),
                         "assignment_id": str(checked.assignment.id) if checked.assignment else None})
    return agreement


def update_draft(agreement: Agreement, data: AgreementInput) -> None:
    if agreement.status != "draft":
        raise DomainError(_("Only a draft can be edited; make a new version instead."))
    checked = _check_input(data, agreement)
    previous = queries.assignment_of(agreement)
    if previous is not None and previous is not checked.assignment:
        previous.agreement_id = None
    _apply_terms(agreement, data, checked)
    _apply_people(agreement, data, checked, {s.side: s for s in queries.signers_of(agreement)})
    audit.record("agreement.update", "agreement", agreement.id)


def _apply_terms(agreement: Agreement, data: AgreementInput, checked: _Checked) -> None:
    agreement.template_id = checked.template.id
    agreement.tenant_role = data.tenant_role
    agreement.counterparty_name = " ".join(data.counterparty_name.split())
    agreement.counterparty_kvk = data.counterparty_kvk or None
    agreement.client_org_id = data.client_org_id
    agreement.fields = checked.values
    agreement.reminder_days = data.reminder_days


def _apply_people(agreement: Agreement, data: AgreementInput, checked: _Checked, signers: dict[str, Signer]) -> None:
    """Signers, the sub-processor annex and the assignment link (rows that refer to the agreement)."""
    other = signers.get("counterparty") or Signer(agreement_id=agreement.id, side="counterparty", status="invited")
    other.name, other.email = " ".join(data.signer_name.split()), data.signer_email.strip()
    other.function = " ".join((data.signer_function or "").split()) or None
    ours = signers.get("tenant") or Signer(agreement_id=agreement.id, side="tenant", status="invited")
    admin = checked.countersigner
    ours.user_id, ours.name, ours.email = admin.id, admin.display_name, admin.email
    db.session.add_all([other, ours])
    for sub in queries.sub_processors_of(agreement):
        db.session.delete(sub)
    for name, country, purpose in checked.annex:
        db.session.add(SubProcessor(agreement_id=agreement.id, name=name, country=country, purpose=purpose))
    if checked.assignment is not None:
        checked.assignment.agreement_id = agreement.id


def new_version(old: Agreement, user_id: uuid.UUID | None) -> Agreement:
    """A draft copy of an agreement (fields, parties, signers, sub-processor annex) as its next version,
    on the newest published version of its template. An agreement not yet completed is superseded at
    once (its links stop working); a completed one stays in force until the new version is completed."""
    from saas.modules.signing import operations as signing

    if old.status in ("draft", "superseded"):
        raise DomainError(_("A draft is edited, not versioned; a superseded agreement already has a newer version."))
    if old.status == "countersigned":
        raise DomainError(_("This agreement is being sealed: make a new version once it is completed."))
    if db.session.scalar(sa.select(Agreement.id).where(Agreement.supersedes_id == old.id,
                                                       Agreement.status.in_(queries.LIVE_STATES))):
        raise DomainError(_("A newer version of this agreement is already in progress."))
    old_template = db.session.get(AgreementTemplate, old.template_id)
    template = queries.latest_published(old_template.key, old_template.language)
    if template is None:
        raise DomainError(_("There is no published template to make the new version from."))
    base = old.number.split("-v")[0]
    new = Agreement(number=f"{base}-v{old.version + 1}", template_id=template.id, tenant_role=old.tenant_role,
                    counterparty_name=old.counterparty_name, counterparty_kvk=old.counterparty_kvk,
                    client_org_id=old.client_org_id, fields=dict(old.fields or {}), status="draft",
                    version=old.version + 1, supersedes_id=old.id, reminder_days=old.reminder_days, created_by=user_id)
    db.session.add(new)
    db.session.flush()
    for signer in queries.signers_of(old):
        copy = Signer(agreement_id=new.id, side=signer.side, user_id=signer.user_id, status="invited")
        copy.name, copy.email, copy.function = signer.name, signer.email, signer.function
        db.session.add(copy)
    for sub in queries.sub_processors_of(old):
        if queries.in_annex(sub):
            db.session.add(SubProcessor(agreement_id=new.id, name=sub.name, country=sub.country, purpose=sub.purpose))
    db.session.flush()
    record_event(new, "created", actor_user_id=user_id, detail={"supersedes": str(old.id)})
    if old.status != "completed":
        if lifecycle.can_move(old, "superseded"):
            lifecycle.move(old, "superseded", detail={"by": str(new.id)})
            signing.revoke_tokens(old)
        _move_assignment(old, new)
    audit.record("agreement.new_version", "agreement", new.id, detail={"supersedes": str(old.id)})
    return new


def _move_assignment(old: Agreement, new: Agreement) -> None:
    assignment = queries.assignment_of(old)
    if assignment is not None:
        assignment.agreement_id = new.id


def finish_supersession(agreement: Agreement) -> None:
    """A completed new version replaces the completed version it supersedes."""
    if agreement.supersedes_id is None:
        return
    old = db.session.get(Agreement, agreement.supersedes_id)
    if old is not None and old.status == "completed":
        lifecycle.move(old, "superseded", detail={"by": str(agreement.id)})
        _move_assignment(old, agreement)
