"""Flask-WTF forms of the agreement pages (CSRF on every POST). They carry the input only: the rules live in
the writes, whose `DomainError.errors` the views put back on these fields, so each rule is written once."""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from saas.modules.agreements import common, drafting, labels, merge_fields, sending

ROLE_CHOICES = [SelectChoice("processor", _l("We are the processor (the other party is the controller)")),
                SelectChoice("controller", _l("We are the controller (the other party is the processor)"))]


def _merge_field(definition: merge_fields.MergeField):
    kwargs = {"description": definition.hint, "default": definition.default}
    if definition.kind == "choice":
        return SelectField(definition.label, choices=[SelectChoice(value, label) for value, label in definition.choices], **kwargs)
    if definition.kind == "text":
        return TextAreaField(definition.label, validators=[Optional(), Length(max=merge_fields.TEXT_LIMIT)],
                             render_kw={"rows": 4}, **kwargs)
    if definition.kind == "number":
        return StringField(definition.label, render_kw={"inputmode": "numeric"}, **kwargs)
    return StringField(definition.label, validators=[Optional(), Length(max=merge_fields.LINE_LIMIT)], **kwargs)


def show_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Put the messages of `DomainError.errors` on their fields (others on the form)."""
    for name, message in errors.items():
        if name in form._fields:
            form[name].errors = [*form[name].errors, message]
        else:
            form.form_errors.append(message)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class AgreementForm(FlaskForm):
    template_id = SelectField(_l("Template"), choices=[])
    tenant_role = SelectField(_l("Our role"), choices=ROLE_CHOICES, default="processor")
    counterparty_name = StringField(_l("Other party (organisation)"), validators=[Length(max=200)])
    counterparty_kvk = StringField(_l("KvK number of the other party"), validators=[Optional(), Length(max=8)])
    client_org_id = SelectField(_l("Client organisation"), choices=[], validators=[Optional()])
    assignment_id = SelectField(_l("Assignment"), choices=[], validators=[Optional()])
    signer_name = StringField(_l("Signer of the other party: name"), validators=[Length(max=200)])
    signer_email = StringField(_l("Signer of the other party: email address"), validators=[Length(max=254)])
    signer_function = StringField(_l("Signer of the other party: function"), validators=[Optional(), Length(max=200)])
    countersigner_id = SelectField(_l("Countersigner for our organisation"), choices=[])
    reminder_days = StringField(_l("Reminder every (days, 0 = none)"), default="3", render_kw={"inputmode": "numeric"})
    sub_processors = TextAreaField(_l("Sub-processors (annex)"), render_kw={"rows": 4},
                                   description=_l("One per line: name | country (NL, DE, ...) | purpose."))

    MERGE_NAMES = tuple(f.name for f in merge_fields.MERGE_FIELDS)

    def set_choices(self, templates, admins, organisations, assignments) -> None:
        self.template_id.choices = [
            SelectChoice(str(t.id), f"{t.title} ({labels.LANGUAGE_LABELS.get(t.language, t.language)}, v{t.version})")
            for t in templates]
        self.countersigner_id.choices = [SelectChoice(str(u.id), u.display_name) for u in admins]
        none = [SelectChoice("", _l("None"))]
        self.client_org_id.choices = none + [SelectChoice(str(o.id), o.name) for o in organisations]
        self.assignment_id.choices = none + [SelectChoice(str(a.id), a.title) for a in assignments]

    def to_input(self) -> drafting.AgreementInput:
        days = (self.reminder_days.data or "").strip()
        return drafting.AgreementInput(
            template_id=_uuid_or_none(self.template_id.data), tenant_role=self.tenant_role.data or "",
            counterparty_name=self.counterparty_name.data or "",
            counterparty_kvk=(self.counterparty_kvk.data or "").strip() or None,
            fields={name: self[name].data for name in self.MERGE_NAMES},
            signer_name=self.signer_name.data or "", signer_email=self.signer_email.data or "",
            signer_function=self.signer_function.data, countersigner_id=_uuid_or_none(self.countersigner_id.data),
            assignment_id=_uuid_or_none(self.assignment_id.data), client_org_id=_uuid_or_none(self.client_org_id.data),
            reminder_days=int(days) if days.isdigit() else -1,
            sub_processors=self.sub_processors.data or "",
        )



for _definition in merge_fields.MERGE_FIELDS:
    setattr(AgreementForm, _definition.name, _merge_field(_definition))


class SendForm(FlaskForm):
    valid_days = StringField(_l("The signing link is valid for (days)"), default=str(sending.DEFAULT_VALID_DAYS),
                             render_kw={"inputmode": "numeric"})


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for revoking"), validators=[Length(max=common.REASON_MAX)],
                           render_kw={"rows": 2})


class CountersignForm(FlaskForm):
    function = StringField(_l("Your function"), validators=[Length(max=200)])
    authority = BooleanField(_l("I confirm that I am authorised to sign this agreement on behalf of my organisation."))
    document_sha256 = HiddenField()


class ConfirmForm(FlaskForm):
    """A button with CSRF protection only (new version, publish, remove a sub-processor)."""


class SubProcessorForm(FlaskForm):
    name = StringField(_l("Sub-processor"), validators=[Length(max=200)])
    country = StringField(_l("Country (two letters)"), default="NL", validators=[Length(max=2)])
    purpose = StringField(_l("Purpose"), validators=[Length(max=300)])


class TemplateForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=common.TITLE_MAX)])
    body = TextAreaField(_l("Text (HTML with merge fields)"), render_kw={"rows": 30, "spellcheck": "false"})


class ObjectionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the objection"), validators=[Length(max=common.REASON_MAX)],
                           render_kw={"rows": 4})
