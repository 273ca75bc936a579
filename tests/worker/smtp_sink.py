"""An SMTP server on loopback (aiosmtpd) that records every message it accepts, for the worker tests.

It can refuse for a while (``refuse = "451 ..."``) and hold one conversation in the middle (``hold_at``:
the n-th RCPT waits until the test lets it go), so a test can kill the worker that is talking to it. While
``down()``, the relay is away: every connection is dropped at once and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.refuse: str | None = None
        self.refuse_rcpt: dict[str, str] = {}  # recipient address -> the answer to its RCPT
        self.delay = 0.0  # seconds before each DATA is answered (a slow server: a batch takes a while)
        self.refused = 0
        self.rcpts = 0
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self.held_peer: tuple[str, int] | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpts += 1
            hold = self.rcpts == self.hold_at
        if hold:
            self.held_peer = session.peer
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse:
                self.refused += 1
                return self.refuse
            self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"

    def keys(self) -> list[str]:
        with self.lock:
            return [str(m["X-Foerdercall-Key"]) for m in self.messages]


class SmtpServer:
    def __init__(self) -> None:
        self.sink = Sink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sink.release.set()
        self.controller.stop()

    @contextlib.contextmanager
    def down(self) -> Iterator[list[int]]:
        """The relay is away: the SMTP server stops, and a listener on its port drops every connection at
        once and counts it (yields a one-element list: the connections made while it was down)."""
        self.controller.stop()
        made = [0]
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.1)
        stop = threading.Event()

        def drop() -> None:
            while not stop.is_set():
                try:
                    conn, _peer = listener.accept()
                except TimeoutError:
                    continue
                made[0] += 1
                conn.close()

        thread = threading.Thread(target=drop, daemon=True)
        thread.start()
        try:
            yield made
        finally:
            stop.set()
            thread.join()
            listener.close()
            self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def config(self) -> dict:
        return {
            "MAIL_SMTP_HOST": "127.0.0.1",
            "MAIL_SMTP_PORT": self.port,
            "MAIL_SMTP_SECURITY": "none",
            "MAIL_SMTP_TIMEOUT": 10.0,
        }
