"""Flask-WTF forms of the retention pages: buttons only, each with its CSRF token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField


class SweepForm(FlaskForm):
    """Start a sweep of the current tenant now: a dry run (counts only) or the real thing."""

    dry_run = SubmitField(_l("Dry run now"))
    sweep = SubmitField(_l("Sweep now"))

    def chosen(self) -> bool | None:
        """True for a dry run, False for a real sweep, None when neither button was pressed."""
        if self.dry_run.data:
            return True
        if self.sweep.data:
            return False
        return None


class RecordActionForm(FlaskForm):
    """A button on one record (verify, mark as left): the CSRF token is all it carries."""
