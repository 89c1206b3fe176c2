"""HTTP client of the submission API, used by ``ggzy bid submit|withdraw`` and the burst benchmark.

Only the public API (docs/submission.md) and an API token: a third-party tool can do the same.
Resumable: before sending, it asks the server which ranges are missing, so re-running the same
command after a dropped connection sends only the rest; transient network errors are retried.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests

logger = logging.getLogger(__name__)

CHUNK = 8 * 1024 * 1024
RETRIES = 5
#: worth another try: every call is idempotent (a lost answer to a finish returns the same receipt);
#: ChunkedEncodingError is a connection cut while the answer was being read
TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class SubmitError(Exception):
    """The platform refused (``code`` and ``detail`` from its JSON error) or could not be reached."""

    def __init__(self, code: str, detail: str, status: int | None = None, body: dict | None = None):
        super().__init__(f"{code}: {detail}")
        self.code, self.detail, self.status, self.body = code, detail, status, body or {}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(1024 * 1024):
            h.update(data)
    return h.hexdigest()


def _platform_url(platform: str) -> str:
    parts = urlsplit(platform.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SubmitError("bad_platform", f"{platform!r} is not a platform address such as https://ggzy.example.cn")
    return platform.strip().rstrip("/")


class Client:
    def __init__(self, platform: str, token: str, *, session: requests.Session | None = None, timeout: float = 120):
        self.base = _platform_url(platform)
        self.http = session or requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self.timeout = timeout
        #: None = try the one-request submission for packages of at most one chunk; False = never
        self.one_request: bool | None = None

    def _call(self, method: str, path: str, *, expect: tuple[str, ...] = (), **kwargs) -> dict:
        for attempt in range(RETRIES + 1):
            try:
                resp = self.http.request(method, self.base + path, timeout=self.timeout, **kwargs)
            except TRANSIENT as err:
                if attempt == RETRIES:
                    raise SubmitError("platform_unreachable", str(err)) from None
                time.sleep(min(2**attempt * 0.2, 5))
                continue
            except requests.RequestException as err:  # not worth a retry: a URL requests cannot use
                raise SubmitError("bad_platform", str(err)) from None
            if resp.status_code in (502, 503, 504) and attempt < RETRIES:
                time.sleep(min(2**attempt * 0.2, 5))
                continue
            return _answer(resp, *expect)
        raise AssertionError("unreachable")

    def submit(self, lot_id: int, path: Path, *, chunk: int = CHUNK, sha256: str | None = None,
               progress: Callable[[int], None] | None = None) -> dict:
        """Upload (resuming where the server is) and finish; returns the bid with its receipt."""
        path = Path(path)
        size = path.stat().st_size
        digest = sha256 or file_sha256(path)
        if size <= chunk and self.one_request is not False:
            bid = self._submit_whole(lot_id, path, digest)
            if bid is not None:
                if progress:
                    progress(size)
                return bid
        up = self._call("POST", f"/api/bidding/lots/{lot_id}/uploads", json={"size": size, "sha256": digest},
                        expect=("state",))
        if up["state"] == "already_submitted":
            if progress:
                progress(size)
            return {"id": up["bid_id"], "lot_id": lot_id, "receipt": up["receipt"], "state": "submitted",
                    "already_submitted": True}
        chunk = min(chunk, up["chunk_max"])
        if progress:
            progress(size - sum(m["length"] for m in up["missing"]))
        with open(path, "rb") as fh:
            for gap in up["missing"]:
                for offset in range(gap["offset"], gap["offset"] + gap["length"], chunk):
                    fh.seek(offset)
                    data = fh.read(min(chunk, gap["offset"] + gap["length"] - offset))
                    self.put_chunk(up["id"], offset, data)
                    if progress:
                        progress(len(data))
        return self._call("POST", f"/api/bidding/uploads/{up['id']}/finish", expect=("id", "receipt"))

    def _submit_whole(self, lot_id: int, path: Path, digest: str) -> dict | None:
        """One request (``POST /lots/{id}/bids``) streaming the file; None if the platform has no such
        endpoint (then the resumable upload is used).  A retry after a dropped connection is safe: the
        same package already standing comes back with its receipt."""
        for attempt in range(RETRIES + 1):
            try:
                with open(path, "rb") as fh:
                    resp = self.http.post(f"{self.base}/api/bidding/lots/{lot_id}/bids", data=fh,
                                          timeout=self.timeout,
                                          headers={"Content-Type": "application/octet-stream",
                                                   "X-Package-SHA256": digest})
            except TRANSIENT as err:
                if attempt == RETRIES:
                    raise SubmitError("platform_unreachable", str(err)) from None
                time.sleep(min(2**attempt * 0.2, 5))
                continue
            except requests.RequestException as err:
                raise SubmitError("bad_platform", str(err)) from None
            # 404/405: an older platform (an unknown lot fails again below); 413: larger than the
            # server's chunk_max, which the resumable upload sizes its chunks to
            if resp.status_code in (404, 405, 413):
                return None
            if resp.status_code in (502, 503, 504) and attempt < RETRIES:
                time.sleep(min(2**attempt * 0.2, 5))
                continue
            body = _answer(resp, "id", "receipt")
            if resp.status_code == 200:
                body["already_submitted"] = True
            return body
        raise AssertionError("unreachable")

    def put_chunk(self, upload_id: str, offset: int, data: bytes) -> dict:
        return self._call("PUT", f"/api/bidding/uploads/{upload_id}/chunks", params={"offset": offset}, data=data,
                          headers={"Content-Type": "application/octet-stream",
                                   "X-Chunk-SHA256": hashlib.sha256(data).hexdigest()})

    def withdraw(self, bid_id: int) -> dict:
        return self._call("POST", f"/api/bidding/bids/{bid_id}/withdraw", expect=("id", "state", "ended_at"))

    def confirm(self, bid_id: int) -> dict:
        return self._call("POST", f"/api/bidding/bids/{bid_id}/confirm", expect=("id", "state"))

    def bids(self, lot_id: int | None = None) -> list:
        return self._call("GET", "/api/bidding/bids", params={"lot_id": lot_id} if lot_id else None)

    def platform_keys(self) -> dict:
        return self._call("GET", "/api/keys/platform", expect=("signing",))


def _answer(resp, *expected: str) -> dict:
    """The JSON object of an answer; a refusal as :class:`SubmitError` with the platform's code and
    reason; a success that is not the API's JSON (a wrong ``--platform`` that serves a web page) as
    ``bad_response`` rather than a missing key further on."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code >= 400:
        body = body if isinstance(body, dict) else {}
        raise SubmitError(body.get("error", f"http_{resp.status_code}"), body.get("detail", resp.reason),
                          resp.status_code, body)
    if isinstance(body, list):
        return {"items": body}
    if not isinstance(body, dict) or any(key not in body for key in expected):
        raise SubmitError("bad_response", f"{resp.url} did not answer as the platform's API does "
                          f"(HTTP {resp.status_code}, {resp.headers.get('Content-Type', 'no content type')}); "
                          "is --platform the platform's address?", resp.status_code)
    return body
