"""The hooks a sector plugin may implement.

Every hook is prefixed `saas_`, typed, and documented here; docs/plugins.md explains each one with its
signature and an example, and tests/test_plugins_hooks.py fails if a hook misses either. Core calls every
hook once, at start-up (`saas.plugins.manager.load`), and keeps the results in a read-only registry:
plugins describe, core acts.
"""
from __future__ import annotations

import pluggy
from marshmallow import Schema

from saas.plugins.definitions import (
    AgreementClause, DocumentType, ErasureException, PluginInfo, ProcessingActivity, RetentionPolicy, SubjectCategory,
)

PROJECT = "saas"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def saas_plugin_info() -> PluginInfo:
    """Return the plugin's identity: a unique name (the entry in a tenant's `plugins` list, equal to the
    entry-point name), a version, a title and a description.

    Required: a plugin without it is refused at start-up, and two plugins with one name stop the start.
    """


@hookspec
def saas_settings_schema() -> type[Schema] | None:
    """Return the marshmallow schema class for this plugin's `[settings.<plugin>]` table in
    `tenants/<slug>.toml`, or None when the plugin takes no settings.

    `saas tenants sync` loads each tenant's table through it (give every field a `load_default`, set
    `unknown = RAISE`) and stores the loaded values, defaults filled in, on the tenant.
    """


@hookspec
def saas_subject_categories() -> list[SubjectCategory]:
    """Return the categories of data subject this sector works with (candidate, prospect, member, ...).

    Names are unique across all plugins; retention policies and erasure exceptions refer to them.
    """


@hookspec
def saas_retention_policies() -> list[RetentionPolicy]:
    """Return the retention policies of this sector: which records, counted from which date, how long,
    and what happens then (flag, reconsent, purge, restrict, hold).

    Names are unique across all plugins; a tenant tunes durations and on/off through its plugin settings.
    """


@hookspec
def saas_erasure_exceptions() -> list[ErasureException]:
    """Return what an erasure must keep for a legal reason (art. 17(3)), for instance the fields under the
    7-year fiscal retention: core erases the rest, restricts these, and says so in the answer."""


@hookspec
def saas_agreement_clauses() -> list[AgreementClause]:
    """Return sector clauses that processor agreements (art. 28) of tenants using this plugin include."""


@hookspec
def saas_document_types() -> list[DocumentType]:
    """Return the kinds of document this sector keeps with a person (CV, NDA, ID copy, staff file, ...): the
    file types each takes, how long each is kept (with the person, or a period from upload or from the
    document's own end date) and whether only the board reads it. Core removes due documents in its sweep."""


@hookspec
def saas_processing_activities() -> list[ProcessingActivity]:
    """Return the processing activities this sector's seeds describe: purpose, categories of data subjects
    and of data, the legal basis (with why each earlier basis does not apply), recipients, transfers, and
    the retention policies that keep the data. They become the lines of the art. 30(1) controller register."""
