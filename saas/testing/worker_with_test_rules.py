"""`python -m saas.testing.worker_with_test_rules worker sweeps default`: the `saas` command with the test
retention rules ("rtest", `retention_for_tests`) installed beside the real plugins.

The fault tests (tests/test_faults_sweep.py) let the real machinery start and resume sweeps: the scheduler's
resume queues the real job (`saas.modules.retention.jobs.run_sweep`), not a test job, so the worker itself
must know the test rules."""
from __future__ import annotations

from saas.plugins import manager
from saas.testing.retention_for_tests import RetentionTestPlugin

_load = manager.load


def _load_with_test_rules(extra_plugins=(), *, installed: bool = True):
    return _load([RetentionTestPlugin(), *extra_plugins], installed=installed)


manager.load = _load_with_test_rules

if __name__ == "__main__":
    from saas.cli import cli

    cli(prog_name="saas")
