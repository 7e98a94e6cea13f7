"""Backups of a tenant's rows in the data database that keep erasures (issue 16 item 5).

`saas backup create|verify|list|restore|prune`; nightly through `saas cron` (schedule entry "backup").
The key store is never in a backup and never restored from one: a key that is gone stays gone, and a
restore drops everyone the erasure ledger names before it writes anything (docs/operations.md).
"""
