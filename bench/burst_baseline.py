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
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@app.put("/upload/<name>")
def upload(name):
    if not _NAME.match(name):
        abort(400)
    path = os.path.join(os.environ["BURST_BASELINE_DIR"], name)
    with open(path, "wb") as fh:
        while data := request.stream.read(1024 * 1024):
            fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return {"stored": name}
