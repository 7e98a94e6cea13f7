"""Processor agreements. The writes, one module per concern:

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
"""
