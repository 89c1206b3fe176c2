"""The trading domain's registrations, made by the app factory (core/app.py): the portal's cached
counts follow every change to what the portal lists (:mod:`trading.services.portal_cache`)."""
from __future__ import annotations


def init_app(app) -> None:
    from trading.services import portal_cache

    portal_cache.init_app(app)
