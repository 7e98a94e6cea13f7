"""Unbound extensions; `create_app` binds them."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


def _fk_columns(constraint, _table) -> str:
    """A foreign key's own column: tenant_id, the first column of every key between tenant tables
    (saas.core.models.tenant_fk), is left out of its name."""
    names = [column.name for column in constraint.columns if column.name != "tenant_id"]
    return "_".join(names or ["tenant_id"])


NAMING = {
    "fk_columns": _fk_columns,
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(fk_columns)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# For every engine, the data database and the key store alike (SQLALCHEMY_ENGINE_OPTIONS reaches only the
# default one): a pooled connection that died while idle (a server restart, pg_terminate_backend) is
# found and replaced before a request uses it (saas.core.outage handles one lost during a request).
ENGINE_OPTIONS = {"pool_pre_ping": True}
db = SQLAlchemy(model_class=Base, engine_options=ENGINE_OPTIONS)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
api = Api()
