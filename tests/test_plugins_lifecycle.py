"""The lifecycle dates are declared once (`saas.plugins.lifecycle.LIFECYCLE`): the subject's columns, the record
view the retention rules read (built by name, never by position), the portal form, the API schemas and the
labels in Dutch and English all follow from it, so adding a date is one change."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from datetime import date
from pathlib import Path

import pytest

from saas.modules.retention import queries
from saas.modules.subjects.forms import SubjectForm
from saas.modules.subjects.models import DataSubject
from saas.modules.subjects.schemas import SubjectCreate, SubjectOut, SubjectUpdate
from saas.modules.tenants.schemas import RECORD_DATES
from saas.plugins import lifecycle
from saas.plugins.definitions import RecordView

ROOT = Path(__file__).resolve().parents[1]


def test_every_entry_is_a_column_a_view_field_a_form_field_an_api_field_and_has_two_labels(app):
    columns = DataSubject.__table__.c
    with app.test_request_context():
        form_fields = set(SubjectForm(meta={"csrf": False})._fields)
    for entry in lifecycle.LIFECYCLE:
        assert entry.name in columns
        assert entry.name in RecordView.__dataclass_fields__
        assert entry.name in form_fields
        assert {entry.name} <= set(SubjectUpdate().fields) & set(SubjectCreate().fields) & set(SubjectOut().fields)
        assert entry.label_en and entry.label_nl and entry.label_en != entry.label_nl
        assert entry.anchor_label("nl") and entry.anchor_label("en")
        assert entry.name in RECORD_DATES or not entry.is_date


def test_a_record_view_is_built_by_name_only():
    with pytest.raises(TypeError):
        RecordView(uuid.uuid4(), "subject", "candidate", date(2024, 1, 1))   # noqa: the point of the test
    view = RecordView(id=uuid.uuid4(), kind="subject", category="candidate", created_on=date(2024, 1, 1),
                      left_company_on=date(2025, 2, 3))
    assert view.left_company_on == date(2025, 2, 3) and view.placed_from is None


def test_the_sweep_reads_each_date_into_its_own_field(ctx, make_tenant, make_subject):
    """Every lifecycle value lands in the view field of its own name (no column order to keep in step)."""
    tenant = make_tenant(plugins=["employment"])
    values = {entry.name: (date(2020, 1, 1 + i) if entry.is_date else entry.values[0])
              for i, entry in enumerate(lifecycle.LIFECYCLE)}
    subject = make_subject(tenant, "applicant", **values)
    from saas.core import tenancy
    with tenancy.tenant_context(tenant.id):
        [view] = queries.subject_views(None, 10)
    assert view.id == subject.id
    assert {name: getattr(view, name) for name in values} == values


def test_empty_verification_counts_from_creation_as_the_registry_says():
    view = RecordView(id=uuid.uuid4(), kind="subject", category="prospect", created_on=date(2024, 5, 1))
    assert view.date_of("last_verified_on") == date(2024, 5, 1)   # empty_counts_from_creation
    assert view.date_of("left_company_on") is None


ADD_A_DATE = textwrap.dedent('''
    """Adds one entry to LIFECYCLE (and nothing else), then checks every place that follows from it."""
    import importlib.util, sys
    from pathlib import Path

    source = Path("saas/plugins/lifecycle.py").read_text(encoding="utf-8")
    marker = "LIFECYCLE: tuple[LifecycleDate, ...] = ("
    assert marker in source
    source = source.replace(marker, marker + """
    LifecycleDate("contract_signed_on", "Contract signed on", "Contract getekend op", "the signing of the contract",
                  "de ondertekening van het contract", past=True),""")
    spec = importlib.util.spec_from_loader("saas.plugins.lifecycle", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = "saas/plugins/lifecycle.py"
    sys.modules["saas.plugins.lifecycle"] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)

    from saas.app import create_app
    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    from flask_babel import force_locale
    from saas.modules.subjects.forms import SubjectForm, lifecycle_label
    from saas.modules.subjects.models import DataSubject
    from saas.modules.subjects.schemas import SubjectOut, SubjectUpdate, lifecycle_problems
    from saas.modules.retention.queries import _SUBJECT_COLUMNS
    from saas.modules.retention.views import anchor_label
    from saas.modules.tenants.schemas import RECORD_DATES
    from saas.plugins.definitions import RecordView
    import datetime

    name = "contract_signed_on"
    assert name in DataSubject.__table__.c
    assert name in [getattr(column, "name", None) for column in _SUBJECT_COLUMNS]
    assert name in RecordView.__dataclass_fields__ and name in RECORD_DATES
    assert name in SubjectUpdate().fields and name in SubjectOut().fields
    with app.test_request_context():
        form = SubjectForm()
        assert name in form._fields
        with force_locale("nl"):
            assert str(form[name].label.text) == "Contract getekend op" == lifecycle_label(name)
            assert anchor_label(name) == "de ondertekening van het contract"
        with force_locale("en"):
            assert str(form[name].label.text) == "Contract signed on"
            tomorrow = datetime.date.today() + datetime.timedelta(days=1)
            assert name in lifecycle_problems({name: tomorrow})       # past=True: never in the future
    print("one change: ok")
''')


@pytest.mark.slow   # a subprocess that imports the whole app
def test_adding_a_date_is_one_change(tmp_path):
    """In a fresh interpreter, one `LifecycleDate` more in the registry, and nothing else changed: the
    column, the view field, the anchor, the form field with both labels, the API fields and the date rules
    are all there."""
    script = tmp_path / "add_a_date.py"
    script.write_text(ADD_A_DATE, encoding="utf-8")
    env = {"SAAS_INSTANCE_PATH": str(tmp_path / "instance"), "PATH": "/usr/bin:/bin",
           "REDIS_URL": "redis://127.0.0.1:1/0", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "one change: ok" in done.stdout
