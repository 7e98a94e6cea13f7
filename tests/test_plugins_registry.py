"""Start-up checks of the plugin registry and the shape of what it holds."""
from __future__ import annotations

import dataclasses

import pytest

from saas.plugins import manager
from saas.plugins.definitions import DEFINITION_HOOKS, PluginInfo, RetentionPolicy, SubjectCategory
from saas.plugins.hookspecs import hookimpl

SHIPPED = {"association", "consultancy", "employment", "fiscal", "hosting", "leadgen", "recruitment"}


def test_installed_plugins_load_with_settings_schemas():
    registry = manager.load()
    assert set(registry.plugins) == SHIPPED
    assert set(registry.settings_schemas) == SHIPPED - {"consultancy"}   # it takes no settings
    assert all(info.name == name for name, info in registry.plugins.items())
    assert set(registry.definitions) == set(DEFINITION_HOOKS)


def test_duplicate_definition_names_fail_at_load(make_test_plugin):
    first, second = make_test_plugin("first", ("visitor",)), make_test_plugin("second", ("visitor",))
    with pytest.raises(manager.PluginError, match="duplicate SubjectCategory name 'visitor'.*'first'.*'second'"):
        manager.load([first, second], installed=False)


def test_a_definition_name_taken_by_a_shipped_plugin_fails_at_load(make_test_plugin):
    with pytest.raises(manager.PluginError, match="duplicate SubjectCategory name 'candidate'"):
        manager.load([make_test_plugin("copycat", ("candidate",))])


def test_two_plugins_with_one_name_fail_at_load(make_test_plugin):
    with pytest.raises(manager.PluginError, match="two plugins are called 'fiscal'"):
        manager.load([make_test_plugin("fiscal")])


def test_a_plugin_without_plugin_info_is_refused():
    class Anonymous:
        @hookimpl
        def saas_subject_categories(self):
            return [SubjectCategory(name="ghost", version=1)]

    with pytest.raises(manager.PluginError, match="does not implement saas_plugin_info"):
        manager.load([Anonymous()], installed=False)


@pytest.mark.parametrize("bad, message", [
    (PluginInfo(name="Bad Name", version="1", title="", description=""), "must match"),
    ({"name": "dict"}, "must return PluginInfo"),
])
def test_plugin_info_is_checked(bad, message):
    class Odd:
        @hookimpl
        def saas_plugin_info(self):
            return bad

    with pytest.raises(manager.PluginError, match=message):
        manager.load([Odd()], installed=False)


@pytest.mark.parametrize("item, message", [
    (RetentionPolicy(name="wrong.kind", version=1), "returned RetentionPolicy, not SubjectCategory"),
    (SubjectCategory(name="", version=1), "without a name"),
    (SubjectCategory(name="zero", version=0), "version must be a whole number from 1"),
])
def test_definitions_are_checked(make_test_plugin, item, message):
    plugin = make_test_plugin("checked")

    class Returns:
        @hookimpl
        def saas_subject_categories(self):
            return [item]

    plugin.saas_subject_categories = Returns().saas_subject_categories
    with pytest.raises(manager.PluginError, match=message):
        manager.load([plugin], installed=False)


def test_definitions_are_frozen_and_know_their_plugin():
    registry = manager.load()
    candidate = registry.get("saas_subject_categories", "candidate")
    assert candidate.plugin == "recruitment"
    assert candidate.key == "candidate@v1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        candidate.version = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        registry.plugins["recruitment"].name = "other"


def test_the_registry_is_read_only():
    registry = manager.load()
    with pytest.raises(TypeError):
        registry.plugins["intruder"] = registry.plugins["fiscal"]
    with pytest.raises(TypeError):
        registry.definitions["saas_subject_categories"]["intruder"] = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        registry.plugins = {}


def test_of_filters_by_plugins_and_refuses_unknown_hooks():
    registry = manager.load()
    names = {d.name for d in registry.of("saas_subject_categories", ["leadgen", "employment"])}
    assert names == {"prospect", "applicant", "employee"}
    assert registry.of("saas_subject_categories", []) == []
    assert len(registry.of("saas_subject_categories")) == len(registry.definitions["saas_subject_categories"])
    with pytest.raises(KeyError):
        registry.of("saas_subject_category")


def test_the_app_holds_the_installed_registry(ctx):
    assert set(manager.current_registry().plugins) == SHIPPED
