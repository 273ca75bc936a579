"""The load clients of bench/surge.py: an open-loop asyncio HTTP/1.1 client over raw sockets and, to check it,
an independent threaded fixed-rate client on ``http.client``.

Open loop: arrivals are scheduled at a fixed rate (Poisson or fixed interval) before the run starts and each
starts at its time whether or not earlier ones have finished, so a slow server cannot slow the arrivals down and
hide its latency (coordinated omission). The first request of an arrival is timed from its *scheduled* time
(any lag of the client itself counts against the server, and the lag is reported); each following request of
the same session from the moment the previous answer arrived (a user without think time).
"""

from __future__ import annotations

import asyncio
import http.client
import math
import random
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

SHED = (429, 503)
CSRF_RE = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def percentile(ordered: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --- statistics ------------------------------------------------------------------------------------------


@dataclass
class KindStats:
    latencies: list[float] = field(default_factory=list)  # admitted answers with the expected status
    admitted_other: list[float] = field(default_factory=list)  # admitted, but an unexpected status
    statuses: Counter = field(default_factory=Counter)  # every answer's status (or "timeout"/"conn: …")
    shed: int = 0
    errors: int = 0

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def admitted(self) -> list[float]:
        return sorted(self.latencies + self.admitted_other)


class Stats:
    """Per kind of request: latencies and statuses; only arrivals scheduled inside the measured window."""

    def __init__(self) -> None:
        self.kinds: dict[str, KindStats] = defaultdict(KindStats)
        self.lags: list[float] = []  # client lag: actual send of the first request - scheduled arrival

    def add(self, kind: str, latency: float | None, status, expected: int | tuple) -> None:
        k = self.kinds[kind]
        k.statuses[status] += 1
        ok = status in expected if isinstance(expected, tuple) else status == expected
        if status in SHED:
            k.shed += 1
        elif ok:
            k.latencies.append(latency)
        else:
            k.errors += 1
            if isinstance(status, int) and latency is not None:
                k.admitted_other.append(latency)

    def table(self, window: float, order: list[str]) -> list[str]:
        rows = [
            f"   {'request':<20} {'count':>7} {'rps':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8} {'shed':>6} {'errors':>6}  statuses"
        ]
        for name in [*order, *sorted(set(self.kinds) - set(order))]:
            if name not in self.kinds:
                continue
            k = self.kinds[name]
            lat = sorted(k.latencies)
            rows.append(
                f"   {name:<20} {k.count:7d} {len(lat) / window:7.1f} {percentile(lat, 0.5) * 1000:8.1f} "
                f"{percentile(lat, 0.95) * 1000:8.1f} {percentile(lat, 0.99) * 1000:8.1f} "
                f"{(lat[-1] if lat else float('nan')) * 1000:8.1f} {k.shed:6d} {k.errors:6d}  "
                + ", ".join(f"{s}: {n}" for s, n in sorted(k.statuses.items(), key=lambda kv: str(kv[0])))
            )
        return rows


# --- a minimal HTTP/1.1 client ---------------------------------------------------------------------------


class HTTPError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection (reopened when the server closed it)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: list[bytes] | bytes = b""
    ) -> Response:
        parts = [body] if isinstance(body, bytes) else body
        length = sum(len(p) for p in parts)
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "User-Agent: foerdercall-surge",
        ]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if method != "GET" or length:
            head.append(f"Content-Length: {length}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        fresh = self.writer is None
        if fresh:
            await self._open()
        try:
            return await self._exchange(data, parts)
        except (ConnectionError, asyncio.IncompleteReadError, HTTPError):
            self.close()
            if fresh:
                raise
        await self._open()  # the server closed the idle keep-alive connection: once more on a new one
        return await self._exchange(data, parts)

    async def _exchange(self, data: bytes, parts: list[bytes]) -> Response:
        w, r = self.writer, self.reader
        w.write(data)
        for p in parts:
            w.write(p)
        await w.drain()
        line = await r.readline()
        if not line:
            raise HTTPError("connection closed before the status line")
        status = int(line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        while True:
            line = await r.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _sep, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cname, _e, cval = value.split(";", 1)[0].partition("=")
                cookies[cname.strip()] = cval.strip()
            headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await r.readline()).split(b";")[0], 16)
                if size == 0:
                    await r.readline()
                    break
                chunks.append(await r.readexactly(size))
                await r.readexactly(2)
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = await r.readexactly(int(headers["content-length"]))
        else:
            body = await r.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, cookies, body)


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]) -> tuple[str, list[bytes]]:
    """A multipart/form-data body as parts (the file's bytes are not copied)."""
    boundary = f"----surge{random.getrandbits(128):032x}"
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/pdf\r\n\r\n".encode()
        )
        parts.append(content)
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", parts


class Session:
    """A browser: a connection and its cookies."""

    def __init__(self, host: str, port: int, cookies: dict[str, str] | None = None) -> None:
        self.conn = Connection(host, port)
        self.cookies = dict(cookies or {})

    async def send(
        self, method: str, path: str, *, form: dict | None = None, body: tuple[str, list[bytes]] | None = None
    ) -> Response:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        payload: list[bytes] | bytes = b""
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            payload = urlencode(form).encode()
        elif body is not None:
            headers["Content-Type"], payload = body
        resp = await self.conn.request(method, path, headers, payload)
        self.cookies.update(resp.cookies)
        return resp

    def close(self) -> None:
        self.conn.close()


def csrf_of(body: bytes) -> str:
    m = CSRF_RE.search(body)
    if not m:
        raise HTTPError("no csrf_token in the page")
    return m.group(1).decode()


# --- open-loop scheduling ----------------------------------------------------------------------------------


def schedule(rate: float, duration: float, poisson: bool, rng: random.Random) -> list[float]:
    """Arrival offsets in seconds from the start: Poisson (exponential gaps) or a fixed interval."""
    out, t = [], 0.0
    if rate <= 0:
        return out
    while True:
        t += rng.expovariate(rate) if poisson else 1.0 / rate
        if t >= duration:
            return out
        out.append(t)


async def run_open_loop(offsets: list[float], start: float, task_for, max_in_flight: int, on_overflow) -> int:
    """Start ``task_for(i, scheduled)`` at each scheduled monotonic time; returns the largest number of
    arrivals in flight at once. Beyond ``max_in_flight`` an arrival is not started (``on_overflow``)."""
    running: set[asyncio.Task] = set()
    peak = 0
    for i, off in enumerate(offsets):
        due = start + off
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(running) >= max_in_flight:
            on_overflow(i, due)
            continue
        task = asyncio.ensure_future(task_for(i, due))
        running.add(task)
        task.add_done_callback(running.discard)
        peak = max(peak, len(running))
    if running:
        await asyncio.gather(*running, return_exceptions=True)
    return peak


# --- the cross-check: the same GET at a fixed rate, by two independent clients ------------------------------


def threaded_fixed_rate(
    host: str, port: int, path: str, rate: float, duration: float, threads: int = 32
) -> tuple[list[float], Counter, float]:
    """``http.client`` in a pool of threads, one new connection per request, requests due at a fixed
    interval and timed from the moment they were due (open loop while threads are free)."""
    due = [i / rate for i in range(int(rate * duration))]
    lock = threading.Lock()
    next_i = [0]
    lat: list[float] = []
    statuses: Counter = Counter()
    start = time.monotonic() + 0.2

    def work() -> None:
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= len(due):
                return
            at = start + due[i]
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                conn.close()
            except OSError as exc:
                status = f"conn: {type(exc).__name__}"
            took = time.monotonic() - at
            with lock:
                statuses[status] += 1
                if status == 200:
                    lat.append(took)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sorted(lat), statuses, time.monotonic() - start


async def asyncio_fixed_rate(
    host: str, port: int, path: str, rate: float, duration: float
) -> tuple[list[float], Counter, float]:
    """The surge client's code path (Session over raw sockets) on the same GET, a new connection each."""
    offsets = [i / rate for i in range(int(rate * duration))]
    lat: list[float] = []
    statuses: Counter = Counter()
    start = time.monotonic() + 0.2

    async def one(_i: int, due: float) -> None:
        s = Session(host, port)
        try:
            r = await s.send("GET", path)
            statuses[r.status] += 1
            if r.status == 200:
                lat.append(time.monotonic() - due)
        except (OSError, HTTPError, asyncio.IncompleteReadError) as exc:
            statuses[f"conn: {type(exc).__name__}"] += 1
        finally:
            s.close()

    await run_open_loop(offsets, start, one, 10_000, lambda i, d: None)
    return sorted(lat), statuses, time.monotonic() - start
