"""Extension singletons; ``core.app.create_app`` binds them with ``init_app``."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf import CSRFProtect

api = Api()
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
