"""A member's own API tokens in the portal (issue 11 item 4): made and revoked by the member, shown once,
stored as a SHA-256 only (`saas.api.tokens`, as the `saas tokens` command makes them)."""
