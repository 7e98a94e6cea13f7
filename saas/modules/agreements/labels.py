"""Words for statuses, roles and trail events, shared by the portal pages and the sealed PDF."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "draft": _l("Draft"), "sent": _l("Sent"), "viewed": _l("Viewed"), "signed": _l("Signed, awaiting countersignature"),
    "countersigned": _l("Countersigned, being sealed"), "completed": _l("Completed"), "declined": _l("Declined"),
    "expired": _l("Expired"), "revoked": _l("Revoked"), "superseded": _l("Superseded"),
}
TEMPLATE_STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"), "retired": _l("Retired")}
ROLE_LABELS = {"controller": _l("Controller"), "processor": _l("Processor")}
SIDE_LABELS = {"counterparty": _l("Counterparty"), "tenant": _l("Our organisation")}
LANGUAGE_LABELS = {"nl": _l("Dutch"), "en": _l("English")}
SUB_PROCESSOR_STATES = {
    "existing": _l("In the annex"), "announced": _l("Announced, objection period open"),
    "objected": _l("Objected"), "effective": _l("In effect (no objection)"),
    "removal_announced": _l("Removal announced"), "removed": _l("Removed"),
}

EVENT_LABELS = {
    "created": _l("Agreement created"),
    "sent": _l("Sent for signing"),
    "opened": _l("Invitation link opened"),
    "code_sent": _l("One-time code mailed"),
    "code_verified": _l("One-time code entered correctly"),
    "code_failed": _l("Wrong one-time code"),
    "viewed": _l("Document viewed"),
    "signed": _l("Signed"),
    "all_signed": _l("Signed by every counterparty signer"),
    "declined": _l("Declined"),
    "reminded": _l("Reminder mailed"),
    "expired": _l("Expired unsigned"),
    "revoked": _l("Revoked"),
    "countersigned": _l("Countersigned"),
    "sealed": _l("Sealed and completed"),
    "distributed": _l("Sealed PDF mailed to the parties"),
    "superseded": _l("Superseded by a new version"),
    "subprocessor_announced": _l("Sub-processor change announced"),
    "subprocessor_objected": _l("Objection to a sub-processor change"),
}
# The event "sent" with a signer is the invitation mail to that signer.
SIGNER_EVENT_LABELS = {"sent": _l("Invitation mailed")}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def event_label(kind: str, with_signer: bool = False) -> str:
    if with_signer and kind in SIGNER_EVENT_LABELS:
        return str(SIGNER_EVENT_LABELS[kind])
    return str(EVENT_LABELS.get(kind, kind.replace("_", " ")))
