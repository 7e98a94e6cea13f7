"""Validation of `tenants/<slug>.toml`: the reviewed configuration of each tenant.

A file is read, checked against `TenantFileSchema` (unknown keys refused, plugins must be installed, each
`[settings.<plugin>]` loaded by that plugin's own schema, each `[retention."<policy>"]` override checked
against the policies of the tenant's plugins) and turned into a `TenantConfig` with a hash of the validated
values. Every problem is reported as file, key and reason; callers validate all files
before writing anything.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates

from saas.plugins.definitions import RetentionPolicy
from saas.plugins.lifecycle import ANCHORS
from saas.plugins.manager import Registry

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
LOCALES = ("nl", "en")
CONTACT_ROLES = ("dpo", "contact", "management")
# Two-factor login is required for these roles unless the tenant file says otherwise (`two_factor_roles`).
MEMBER_ROLES = ("admin", "supervisor", "agent", "client")
DEFAULT_TWO_FACTOR_ROLES = ["admin", "supervisor"]
# Art. 12(3): one month. The tenant's own target may be shorter, never longer.
MAX_RIGHTS_REQUEST_DAYS = 30


# A retention period is given in these units (a policy's own, a plugin setting's suffix, an override's keys).
PERIOD_UNITS = ("years", "months", "weeks", "days")
# The dates a policy may count from: the lifecycle dates of the registry and the record's creation.
RECORD_DATES = tuple(sorted(ANCHORS))


class ContactSchema(Schema):
    """`[contact]`: where data subjects reach the organisation about privacy (organisation data)."""

    class Meta:
        unknown = RAISE

    role = fields.String(required=True, validate=validate.OneOf(CONTACT_ROLES))
    email = fields.Email()
    phone = fields.String(validate=validate.Length(min=1, max=40))
    address = fields.String(validate=validate.Length(min=1, max=200))


class RetentionOverrideSchema(Schema):
    """`[retention."<policy name>"]`: a tenant's own period, anchor or on/off for one policy of its plugins.
    A period given here replaces the policy's whole period (units left out count as 0)."""

    class Meta:
        unknown = RAISE

    years = fields.Integer(strict=True, validate=validate.Range(min=0))
    months = fields.Integer(strict=True, validate=validate.Range(min=0))
    weeks = fields.Integer(strict=True, validate=validate.Range(min=0))
    days = fields.Integer(strict=True, validate=validate.Range(min=0))
    anchor = fields.String(validate=validate.OneOf(RECORD_DATES, error="must be a date of the record: {choices}"))
    enabled = fields.Boolean(truthy={True}, falsy={False})


class BackupPlanSchema(Schema):
    """`[backups]`: how many nightly backups are kept (saas/modules/backups). At most 6 monthly ones, so no
    backup outlives the erasure window of docs/operations.md."""

    class Meta:
        unknown = RAISE

    daily = fields.Integer(strict=True, validate=validate.Range(min=1, max=35))
    monthly = fields.Integer(strict=True, validate=validate.Range(min=0, max=6))


class TenantFileSchema(Schema):
    """One tenant file. Needs the plugin registry to check `plugins` and `[settings.<plugin>]`."""

    class Meta:
        unknown = RAISE

    slug = fields.String(required=True, validate=[
        validate.Length(min=2, max=40),
        validate.Regexp(SLUG_PATTERN, error="use lowercase letters, digits and single hyphens"),
    ])
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    locale = fields.String(required=True, validate=validate.OneOf(LOCALES))
    plugins = fields.List(fields.String(), required=True)
    rights_request_days = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_RIGHTS_REQUEST_DAYS)
    )
    settings = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict)
    two_factor_roles = fields.List(
        fields.String(validate=validate.OneOf(MEMBER_ROLES)),
        load_default=lambda: list(DEFAULT_TWO_FACTOR_ROLES),
    )
    retention = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict)
    contact = fields.Nested(ContactSchema, required=True)
    backups = fields.Nested(BackupPlanSchema, load_default=None)

    def __init__(self, registry: Registry, reserved: frozenset[str] = frozenset(), **kwargs):
        super().__init__(**kwargs)
        self.registry = registry
        self.reserved = reserved

    @validates("slug")
    def _not_a_portal_path(self, value: str, **_kwargs) -> None:
        # Tenant URLs are /<slug>/...: a slug equal to a top-level path (/login, /api) would be unreachable.
        if value in self.reserved:
            raise ValidationError(f"/{value} is a path of the portal; choose another slug")

    @validates("plugins")
    def _installed_once(self, value: list[str], **_kwargs) -> None:
        unknown = [name for name in value if name not in self.registry.plugins]
        if unknown:
            raise ValidationError(
                f"unknown plugin {', '.join(map(repr, unknown))} (installed: {', '.join(sorted(self.registry.plugins))})"
            )
        if len(set(value)) != len(value):
            raise ValidationError("a plugin is listed twice")

    @post_load
    def _load_plugin_tables(self, data: dict, **_kwargs) -> dict:
        """`[settings.*]` through each plugin's schema, then `[retention.*]` against the plugins' policies;
        the problems of both are reported together."""
        errors: dict[str, object] = {}
        try:
            data["settings"] = self._plugin_settings(data["plugins"], data["settings"])
            settings = data["settings"]
        except ValidationError as exc:
            errors.update(exc.messages)
            settings = None  # the overrides are still checked, only not against the broken settings
        try:
            data["retention"] = self._retention_overrides(data["plugins"], settings, data["retention"])
        except ValidationError as exc:
            errors.update(exc.messages)
        else:
            errors.update(self._uncovered(data["slug"], data["plugins"], data["retention"]))
        if errors:
            raise ValidationError(errors)
        backups = data.pop("backups", None)
        if backups:   # kept with the settings: the backups feature reads `settings["backups"]`
            data["settings"]["backups"] = backups
        return data

    def _uncovered(self, slug: str, plugins: list[str], overrides: dict) -> dict[str, list[str]]:
        """Every category the tenant can hold needs a retention rule that is switched on: without one its
        people would be kept for ever."""
        uncovered = self.registry.uncovered_categories(plugins, overrides)
        reasons = [
            f"tenant {slug!r}: category {category!r} (from plugin {', '.join(owners)}) has no retention rule "
            f"that is switched on in the plugins {', '.join(plugins)}; add a plugin with a rule for it, or "
            f"switch its rule back on"
            for category, owners in sorted(uncovered.items())
        ]
        return {"plugins": reasons} if reasons else {}

    def _plugin_settings(self, plugins: list[str], tables: dict) -> dict:
        """Each enabled plugin's table through its schema (defaults filled in); a table for a plugin that
        is not enabled, or that takes no settings, is an error."""
        errors: dict[str, object] = {}
        for name in tables:
            if name not in plugins:
                errors[name] = [f"plugin {name!r} is not in `plugins`; enable it or remove this table"]
            elif name not in self.registry.settings_schemas:
                errors[name] = [f"plugin {name!r} takes no settings"]
        loaded: dict[str, dict] = {}
        for name in plugins:
            schema = self.registry.settings_schemas.get(name)
            if schema is None or name in errors:
                continue
            try:
                loaded[name] = schema().load(tables.get(name, {}))
            except ValidationError as exc:
                errors[name] = exc.messages
        if errors:
            raise ValidationError({"settings": errors})
        return loaded

    def _retention_overrides(self, plugins: list[str], settings: dict | None, tables: dict) -> dict:
        """Each `[retention."<name>"]` table: a policy of an enabled plugin, loaded by RetentionOverrideSchema.
        A period for a policy that takes its period from a plugin setting must use that setting's unit and
        pass the plugin's own settings schema, so an override cannot go below a legal minimum (fiscal 7 years)
        or break a rule between settings (flag before purge)."""
        policies = {p.name: p for p in self.registry.of("saas_retention_policies", plugins)}
        errors: dict[str, object] = {}
        loaded: dict[str, dict] = {}
        for name, table in tables.items():
            key = f'"{name}"'  # the key as the file writes it: retention."fiscal.relation_records".years
            if name not in policies:
                errors[key] = [_unknown_policy(name, policies)]
                continue
            try:
                loaded[name] = RetentionOverrideSchema().load(table)
            except ValidationError as exc:
                errors[key] = exc.messages
                continue
            if not loaded[name]:
                errors[key] = [f"give at least one of {', '.join(PERIOD_UNITS)}, anchor, enabled"]
        if settings is not None:
            for name, problems in self._check_setting_periods(loaded, policies, settings).items():
                errors[f'"{name}"'] = problems
        if errors:
            raise ValidationError({"retention": errors})
        return loaded

    def _check_setting_periods(self, overrides: dict[str, dict], policies: dict[str, RetentionPolicy],
                               settings: dict) -> dict[str, dict]:
        """Overrides of a period that a plugin setting holds: in that setting's unit, and loaded through the
        plugin's settings schema together with the tenant's other such overrides."""
        backed = {name: policies[name] for name, override in overrides.items()
                  if policies[name].setting and any(unit in override for unit in PERIOD_UNITS)}
        trial = {plugin: dict(values) for plugin, values in settings.items()}
        problems: dict[str, dict] = {}
        for name, policy in backed.items():
            unit = setting_unit(policy.setting)
            wrong = sorted(u for u in PERIOD_UNITS if u in overrides[name] and u != unit)
            if wrong:
                problems[name] = {wrong[0]: [
                    f"the period of {name} is the setting settings.{policy.plugin}.{policy.setting}: "
                    f"give it in {unit} only"
                ]}
            else:
                trial.setdefault(policy.plugin, {})[policy.setting] = overrides[name][unit]
        for name, policy in backed.items():
            if name in problems:
                continue
            unit = setting_unit(policy.setting)
            schema = self.registry.settings_schemas.get(policy.plugin)
            try:
                if schema is not None:
                    schema().load({**trial[policy.plugin], policy.setting: overrides[name][unit]})
            except ValidationError as exc:
                problems[name] = {unit: [
                    f"{message} (as settings.{policy.plugin}.{key.replace('_schema', policy.setting)})"
                    for key, message in _flatten(exc.messages)
                ]}
        return problems


def setting_unit(setting: str) -> str:
    """`purge_after_months` -> "months": a plugin setting's suffix names the unit of the period it holds."""
    unit = setting.rsplit("_", 1)[-1]
    if unit not in PERIOD_UNITS:
        raise ValueError(f"setting {setting!r} does not end in _{'/_'.join(PERIOD_UNITS)}")
    return unit


def _unknown_policy(name: str, policies: dict) -> str:
    hint = " (quote a dotted name: [retention.\"plugin.rule\"])" if "." not in name else ""
    known = ", ".join(sorted(policies)) or "none: no plugin of this tenant has retention policies"
    return f"unknown retention policy {name!r} for this tenant's plugins{hint} (known: {known})"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one tenant file."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


class TenantConfigError(ValueError):
    """One or more tenant files are invalid; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass(frozen=True)
class TenantConfig:
    """A validated tenant file: the Tenant fields to store and the hash that says whether they changed."""

    slug: str
    fields: dict = field(compare=False)
    config_hash: str


def config_hash(values: dict) -> str:
    """A stable hash of validated values: the same configuration always hashes the same."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _flatten(messages, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """marshmallow's nested error messages -> (dotted key, reason) pairs."""
    if isinstance(messages, dict):
        return [pair for key, sub in messages.items() for pair in _flatten(sub, (*path, str(key)))]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(".".join(path) or "(file)", message) for message in messages]
    if isinstance(messages, list):
        return [pair for sub in messages for pair in _flatten(sub, path)]
    return [(".".join(path) or "(file)", str(messages))]


def _parse(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def read_tenant_file(path: Path, registry: Registry, reserved: frozenset[str] = frozenset()) -> TenantConfig:
    """Validate one file; raises TenantConfigError naming the file, each key and the reason."""
    label = str(path)
    try:
        raw = _parse(path)
    except tomllib.TOMLDecodeError as exc:
        raise TenantConfigError([Problem(label, "TOML syntax", str(exc))]) from exc
    except UnicodeDecodeError as exc:
        raise TenantConfigError([Problem(label, "encoding", "the file is not UTF-8")]) from exc
    try:
        values = TenantFileSchema(registry, reserved).load(raw)
    except ValidationError as exc:
        raise TenantConfigError([Problem(label, key, reason) for key, reason in _flatten(exc.messages)]) from exc
    if values["slug"] != path.stem:
        raise TenantConfigError([Problem(label, "slug", f"is {values['slug']!r} but must equal the file name {path.stem!r}")])
    slug = values.pop("slug")
    return TenantConfig(slug=slug, fields=values, config_hash=config_hash({"slug": slug, **values}))


def read_tenant_dir(directory: Path, registry: Registry, reserved: frozenset[str] = frozenset()) -> list[TenantConfig]:
    """Validate every `*.toml` in `directory`; raises one TenantConfigError listing the problems of all files."""
    paths = sorted(Path(directory).glob("*.toml"))
    if not paths:
        raise TenantConfigError([Problem(str(directory), "(directory)", "holds no *.toml tenant files")])
    configs, problems = [], []
    for path in paths:
        try:
            configs.append(read_tenant_file(path, registry, reserved))
        except TenantConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise TenantConfigError(problems)
    return configs
