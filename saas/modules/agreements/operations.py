"""The writes of processor agreements, one module per concern:

- `template_versions`: shipped default templates, drafts, checking and publishing template versions;
- `drafting`: creating and editing a draft agreement, and the next version of an agreement;
- `sending`: the request to send, the send job (render, freeze, invite), reminders, expiry, revoking;
- `countersigning`: our signature, sealing and mailing the sealed PDF, the signature page and trail;
- `sub_processors`: art. 28(2) announcements of sub-processor changes and the controller's objection;
- `common`: what they share.

They do not commit: the request or job that calls them does (`saas.core.transaction`). A refused step
raises `saas.core.errors.DomainError` before it writes. Every status change goes through
`lifecycle.move`; every write leaves an audit line (ids only) and, for agreements, an event in the
agreement's own trail.

This module only re-exports the public writes for callers written before the split; new code imports
the concern's module.
"""
from __future__ import annotations

from saas.modules.agreements.countersigning import countersign, distribute, seal, signature_page, trail  # noqa: F401
from saas.modules.agreements.drafting import AgreementInput, create_agreement, new_version, update_draft  # noqa: F401
from saas.modules.agreements.sending import expire, remind, request_send, revoke, send  # noqa: F401
from saas.modules.agreements.sub_processors import add_sub_processor, object_to_change, remove_sub_processor  # noqa: F401
from saas.modules.agreements.template_versions import (  # noqa: F401
    TemplateIncomplete, check_template, default_body, new_template_version, publish_template, save_template,
    seed_default_templates,
)
