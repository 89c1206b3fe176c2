"""The bidding API's one blueprint (``/api/bidding``); each module of the package adds its routes."""
from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("bidding", __name__, url_prefix="/api/bidding",
                description="Sealed bid packages and opening-key custody")
