"""`saas plugins list`: every plugin, its definitions and the tenants that use it."""
from __future__ import annotations

from saas.plugins.manager import current_registry


def _blocks(output: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line and not line.startswith(" "):
            current = blocks.setdefault(line.split()[0], [line])
        elif line:
            current.append(line.strip())
    return blocks


def test_plugins_list_shows_plugins_definitions_and_tenants(ctx, tenant_files, saas_cli):
    assert saas_cli("tenants", "sync", "--dir", str(tenant_files.directory)).exit_code == 0
    result = saas_cli("plugins", "list")
    assert result.exit_code == 0, result.output
    blocks = _blocks(result.output)
    registry = current_registry()
    assert set(blocks) == set(registry.plugins)
    users = {
        "consultancy": ["zest"], "fiscal": ["kantoor", "kvgo"], "recruitment": ["client-ict"],
        "hosting": ["client-ict"], "association": ["kvgo"], "leadgen": ["leadhunter"], "employment": ["leadhunter"],
    }
    for name, info in registry.plugins.items():
        header, *details = blocks[name]
        assert header.startswith(f"{name} {info.version}") and info.title in header
        tenants_line = next(d for d in details if d.startswith("tenants:"))
        listed = tenants_line.removeprefix("tenants:").split(", ")
        ours = {seed: tenant_files.slug(seed) for seed in users[name]}
        assert all(slug.strip() in {s.strip() for s in listed} for slug in ours.values()), (name, tenants_line)
        others = set(tenant_files.slugs) - set(ours.values())
        assert not others & {s.strip() for s in listed}, (name, tenants_line)
        for hook in registry.definitions:
            keys = [d.key for d in registry.of(hook, [name])]
            if keys:
                assert f"{hook.removeprefix('saas_')}: {', '.join(keys)}" in details
    assert "subject_categories: prospect@v1" in blocks["leadgen"]
