"""The hooks a sector plugin may implement. Every hook is prefixed `saas_` and documented here;
docs/plugins.md explains them with an example, and a test fails if either misses one."""
from __future__ import annotations

import pluggy
from marshmallow import Schema

from saas.plugins.definitions import (
    AgreementClause, ErasureException, PluginInfo, RetentionPolicy, SubjectCategory,
)

PROJECT = "saas"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def saas_plugin_info() -> PluginInfo:
    """Return the plugin's identity: a unique name (the TOML `plugins` entry), version, title and
    description. Required: a plugin without it is refused at start-up."""


@hookspec
def saas_settings_schema() -> type[Schema] | None:
    """Return a marshmallow schema for this plugin's table in `tenants/<slug>.toml`
    (`[settings.<plugin>]`), or None when the plugin takes no settings."""


@hookspec
def saas_subject_categories() -> list[SubjectCategory]:
    """Return the categories of data subject this sector uses."""


@hookspec
def saas_retention_policies() -> list[RetentionPolicy]:
    """Return the retention policies of this sector. Names are unique across all plugins; a tenant
    may override durations, anchors and on/off in its TOML file."""


@hookspec
def saas_erasure_exceptions() -> list[ErasureException]:
    """Return what an erasure must keep for a legal reason (for instance fiscal retention)."""


@hookspec
def saas_agreement_clauses() -> list[AgreementClause]:
    """Return sector clauses to add to processor agreements."""
