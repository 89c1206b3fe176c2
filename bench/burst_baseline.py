"""The baseline of bench_burst: a bare endpoint that streams the request body to a file and fsyncs it.

Served by the same gunicorn settings as the platform, so the ratio measures what submission adds
(session, package check, store, bid row, receipt) over the unavoidable: receiving and persisting
the bytes.
"""
from __future__ import annotations

import os
import re

from flask import Flask, abort, request

app = Flask(__name__)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}\Z")


def _body():
    """The server's own input when it ends the body itself, as the platform's submission reads it
    (bidding.services.body.request_body): the floor must not carry werkzeug's copies either."""
    if request.environ.get("wsgi.input_terminated") and request.content_length is not None:
        return request.environ["wsgi.input"]
    return request.stream


@app.put("/upload/<name>")
def upload(name):
    if not _NAME.match(name):
        abort(400)
    path = os.path.join(os.environ["BURST_BASELINE_DIR"], name)
    body = _body()
    with open(path, "wb") as fh:
        while data := body.read(1024 * 1024):
            fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return {"stored": name}
