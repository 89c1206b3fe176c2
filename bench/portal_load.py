"""Open-loop HTTP load generator for the portal benchmark, run as a process of its own.

Requests go out on a fixed schedule (``rate`` per second for ``seconds``) whatever the responses
do: request ``i`` is due at ``start + i / rate``.  Its latency runs from that due time to the last
byte of the response, so a server (or a generator) that falls behind is charged for the wait too
(no coordinated omission).  asyncio, HTTP/1.1 keep-alive over a pool of loopback connections that
grows when every connection is busy.  Each request's path comes from the plan file (one per line,
cycled); the result is written as JSON: latencies (ms) per request kind, statuses, errors, lag.

Usage: ``python bench/portal_load.py --port P --rate 200 --seconds 60 --plan FILE --out FILE``
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

TIMEOUT = 30.0


#: gunicorn closes a keep-alive connection idle for 2 s (its ``--keep-alive`` default): older ones are not reused
IDLE_SECONDS = 1.0


class Pool:
    def __init__(self, host: str, port: int):
        self.host, self.port, self.idle, self.opened = host, port, [], 0

    async def get(self, fresh: bool = False):
        """(reader, writer, reused) — the most recently used idle connection, or a new one."""
        now = time.monotonic()
        while self.idle and not fresh:
            reader, writer, since = self.idle.pop()
            if now - since < IDLE_SECONDS:
                return reader, writer, True
            writer.close()
        self.opened += 1
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return reader, writer, False

    def put(self, reader, writer) -> None:
        self.idle.append((reader, writer, time.monotonic()))


async def fetch(pool: Pool, path: str) -> tuple[int, int]:
    """(status, body bytes); a reused connection the server had closed meanwhile is retried once on a
    new one, as HTTP clients do for a GET."""
    reader, writer, reused = await pool.get()
    try:
        return await _exchange(pool, reader, writer, path)
    except asyncio.IncompleteReadError as err:
        if not (reused and not err.partial):
            raise
    reader, writer, _reused = await pool.get(fresh=True)
    return await _exchange(pool, reader, writer, path)


async def _exchange(pool: Pool, reader, writer, path: str) -> tuple[int, int]:
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {pool.host}:{pool.port}\r\nAccept: */*\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers["content-length"]))
    except BaseException:
        writer.close()
        raise
    if headers.get("connection", "").lower() == "close":
        writer.close()
    else:
        pool.put(reader, writer)
    return status, len(body)


async def run(args) -> dict:
    plan = [line.rstrip("\n").split("\t", 1) for line in open(args.plan, encoding="utf-8") if line.strip()]
    pool, loop = Pool("127.0.0.1", args.port), asyncio.get_running_loop()
    total = int(args.rate * args.seconds)
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, int] = {}
    errors: list[str] = []
    lags: list[float] = []

    async def one(due: float, kind: str, path: str) -> None:
        try:
            status, _size = await asyncio.wait_for(fetch(pool, path), TIMEOUT)
        except Exception as err:  # noqa: BLE001 (counted, the run goes on)
            errors.append(f"{kind} {path}: {err!r}"[:200])
            return
        latencies.setdefault(kind, []).append((loop.time() - due) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status != 200:
            errors.append(f"{kind} {path}: HTTP {status}")

    tasks = []
    start = loop.time() + 0.2
    for i in range(total):
        due = start + i / args.rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(max(0.0, loop.time() - due) * 1000)
        kind, path = plan[i % len(plan)]
        tasks.append(asyncio.create_task(one(due, kind, path)))
    sent = loop.time()
    await asyncio.gather(*tasks)
    finished = loop.time()
    for _reader, writer, _since in pool.idle:
        writer.close()
    return {"requests": total, "completed": sum(len(v) for v in latencies.values()),
            "offered_seconds": round(sent - start, 3), "seconds": round(finished - start, 3),
            "latencies_ms": latencies, "statuses": statuses, "errors": errors,
            "send_lag_ms_max": round(max(lags), 2), "connections": pool.opened}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--plan", required=True, help="lines of KIND<TAB>PATH, used in order and cycled")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    started = time.time()
    result = asyncio.run(run(args))
    result["wall_started"] = started
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
