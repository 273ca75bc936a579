"""Flask extensions, created once and bound in create_app()."""

from typing import TYPE_CHECKING, ClassVar

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.model import Model as FlaskModel
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:
        __table__: ClassVar[Table]  # every model maps a table (declarative types it as any FromClause)


class SessionLoginManager(LoginManager):
    """Flask-Login with a login only in its server-side session (accounts.models.LoginSession): the app never sets
    a remember-me cookie, and one sent anyway (made with the key) is not read (tests/accounts/test_login_sessions.py
    fails if a new Flask-Login reads it elsewhere)."""

    def _load_user_from_remember_cookie(self, cookie):
        return None


db = SQLAlchemy(model_class=Base)

# The base of the models: db.Model, which Flask-SQLAlchemy builds from Base and its own Model. mypy takes no
# instance attribute as a base class, so it sees the same class spelled out.
if TYPE_CHECKING:

    class Model(FlaskModel, Base):
        pass

else:
    Model = db.Model
migrate = Migrate()
csrf = CSRFProtect()
login_manager = SessionLoginManager()
babel = Babel()
