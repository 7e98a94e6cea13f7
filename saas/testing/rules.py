"""Helpers for the tests of the shipped sector rules (tests/test_rules_*.py, plugins/<sector>/tests/):
record views and rule contexts as the sweep builds them, and whether a rule acts on a record on a day.

- `view(category="candidate", **dates)` -> a RecordView (a company when category == "company").
- `context(**settings)` -> a RuleContext of tenant 1 on TODAY.
- `Edge(policy, category, dates, due, settings={})`: one rule at its edge; `acts(edge, today)` -> bool.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from saas.modules.retention.policies import due_on, resolve
from saas.plugins import manager
from saas.plugins.definitions import RecordView, RuleContext

REGISTRY = manager.load()   # the installed (shipped) plugins
TODAY = date(2026, 6, 15)


def view(category: str = "candidate", **dates) -> RecordView:
    return RecordView(id=uuid.uuid4(), kind="company" if category == "company" else "subject", category=category,
                      created_on=date(2020, 1, 1), **dates)


def context(**settings) -> RuleContext:
    return RuleContext(tenant_id=1, today=TODAY, settings=settings)


@dataclass(frozen=True)
class Edge:
    """One rule at its edge: a record of `category` with `dates`, due on `due` under the tenant `settings`."""

    policy: str
    category: str
    dates: dict
    due: date
    settings: dict = field(default_factory=dict)


def defaults(plugin: str) -> dict:
    """The plugin's settings with every default filled in ({} for a plugin that takes no settings)."""
    schema = REGISTRY.settings_schemas.get(plugin)
    return schema().load({}) if schema is not None else {}


def acts(edge: Edge, today: date) -> bool:
    """Whether the rule acts on the record on `today`: due, and its `applies` holds."""
    definition = REGISTRY.get("saas_retention_policies", edge.policy)
    settings = {**defaults(definition.plugin), **edge.settings}
    policy = resolve(definition, settings, None)
    record = view(edge.category, **edge.dates)
    ctx = RuleContext(tenant_id=1, today=today, settings=settings)
    due = due_on(policy, record)
    return due is not None and due <= today and (policy.applies is None or policy.applies(record, ctx))
