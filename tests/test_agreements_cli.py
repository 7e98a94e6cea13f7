"""`saas agreements verify | list | templates seed`."""
from __future__ import annotations

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.agreements.cli import agreements_group
from saas.modules.agreements.models import AgreementTemplate
from saas.modules.files import queries as stored_files
from saas.testing.agreements import agreement_queue, agreements_world  # noqa: F401  (fixtures)


def _sealed(world, tmp_path):
    agreement_id = world.completed()
    agreement = world.get(agreement_id)
    path = tmp_path / f"{agreement.number}.pdf"
    path.write_bytes(stored_files.read(stored_files.get(agreement.sealed_file_id)))
    number = agreement.number
    world.leave()
    return path, number


def test_verify_says_valid_with_signer_time_tenant_and_the_agreement(app, agreements_world, tmp_path):
    path, number = _sealed(agreements_world, tmp_path)
    result = app.test_cli_runner().invoke(agreements_group, ["verify", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VALID")
    assert agreements_world.slug.title() in result.output          # the tenant's name (the fixture names it so)
    assert "UTC" in result.output and "Europe/Amsterdam" in result.output
    assert f"Agreement: {number} of tenant {agreements_world.slug} (completed)" in result.output


def test_verify_says_invalid_for_a_changed_or_extended_file(app, agreements_world, tmp_path):
    path, _ = _sealed(agreements_world, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(path.read_bytes() + b"\n% appended after sealing\n")
    for target in (changed, appended):
        result = app.test_cli_runner().invoke(agreements_group, ["verify", str(target)])
        assert result.exit_code == 1 and result.output.startswith("INVALID"), result.output
        assert "Agreement:" not in result.output


def test_list_shows_the_tenants_agreements(app, agreements_world):
    world = agreements_world
    draft_id, sent_id = world.draft(), world.sent()
    numbers = (world.get(draft_id).number, world.get(sent_id).number)
    world.leave()
    result = app.test_cli_runner().invoke(agreements_group, ["list", "--tenant", world.slug])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(numbers[0] in line and "draft" in line for line in lines)
    assert any(numbers[1] in line and "sent" in line and "expires" in line for line in lines)
    assert app.test_cli_runner().invoke(agreements_group, ["list", "--tenant", "no-such"]).exit_code != 0


def test_seed_installs_the_default_templates_once(app, ctx, make_tenant):
    tenant = make_tenant()
    runner = app.test_cli_runner()
    first = runner.invoke(agreements_group, ["templates", "seed", "--tenant", tenant.slug])
    assert first.exit_code == 0 and "installed nl, en" in first.output, first.output
    again = runner.invoke(agreements_group, ["templates", "seed", "--tenant", tenant.slug])
    assert "already installed" in again.output
    from saas.core import tenancy

    db.session.commit()
    tenancy.set_tenant(tenant.id)
    rows = db.session.execute(sa.select(AgreementTemplate.language, AgreementTemplate.status)).all()
    assert sorted(rows) == [("en", "published"), ("nl", "published")]
    assert runner.invoke(agreements_group, ["templates", "seed"]).exit_code == 2
