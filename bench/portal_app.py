"""The portal benchmark's server: the production app (``wsgi:app``) plus one constant endpoint,
``GET /bench/constant``, served by the same gunicorn workers through the same request hooks.

``GGZY_BENCH_NO_COUNT_CACHE=1`` turns the portal's count cache off (every listing counts afresh).

The constant endpoint does no database or template work, so its latency under the benchmark's load is what the server,
the framework and this machine cost before the portal does anything: the baseline of ``portal.json``.
"""
from __future__ import annotations

import os

from flask import jsonify

from wsgi import app

if os.environ.get("GGZY_BENCH_NO_COUNT_CACHE") == "1":  # ``bench_portal.py --no-count-cache``: for comparison
    from trading.services import portal_cache

    portal_cache.cached_count = lambda _key, count: count()

CONSTANT = {"ok": True, "what": "constant baseline of bench/bench_portal.py"}


@app.get("/bench/constant")
def constant():
    return jsonify(CONSTANT)
