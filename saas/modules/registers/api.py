"""/api/v1/<tenant>/registers: the art. 30(1) controller register as JSON (admins only; others 404)."""
from __future__ import annotations

from flask import g
from flask.views import MethodView

from saas import access
from saas.api import api_blueprint
from saas.modules.registers import queries
from saas.modules.registers.schemas import ControllerRegisterOut

blp = api_blueprint(
    "registers_api", __name__, "/registers",
    description="The processing registers (art. 30 GDPR), built from the processing activities the tenant's "
                "sector plugins declare, with the retention policies the sweeps enforce. Admins only.",
)


def _gap(gap: queries.Gap) -> dict:
    return {"element": str(gap.element), "article": gap.article}


def _line(line: queries.RegisterLine) -> dict:
    a = line.activity
    return {
        "activity": a.key, "plugin": a.plugin, "purpose": a.purpose, "legal_basis": a.legal_basis,
        "not_applicable": [{"basis": basis, "reason": reason} for basis, reason in a.not_applicable],
        "subject_categories": list(a.subject_categories), "data_categories": list(a.data_categories),
        "recipients": list(a.recipients), "transfers": None if a.transfers is None else list(a.transfers),
        "retention": [{"policy": p.key, "action": p.action, "period": p.period.parts(), "anchor": p.anchor,
                       "from_year_end": p.from_year_end} for p in line.retention],
        "source": a.source, "seed": a.seed, "missing": [_gap(gap) for gap in line.gaps],
    }


@blp.route("/controller")
class ControllerRegister(MethodView):
    @access.requires("view", "register")
    @blp.response(200, ControllerRegisterOut)
    def get(self):
        """The controller register: one line per processing activity, the live retention, what is missing."""
        register = queries.controller_register(g.tenant)
        return {"controller": register.tenant_name, "complete": register.complete,
                "missing": [_gap(gap) for gap in register.head_gaps], "lines": [_line(line) for line in register.lines]}
