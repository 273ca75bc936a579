"""An SMTP server on loopback (aiosmtpd) that records every message it accepts, for the worker tests.

It can refuse for a while (``refuse = "451 ..."``) and hold one conversation in the middle (``hold_at``:
the n-th RCPT waits until the test lets it go), so a test can kill the worker that is talking to it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
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

    def config(self) -> dict:
        return {
            "MAIL_SMTP_HOST": "127.0.0.1",
            "MAIL_SMTP_PORT": self.port,
            "MAIL_SMTP_SECURITY": "none",
            "MAIL_SMTP_TIMEOUT": 10.0,
        }
