"""Message catalogues: msgids are German (the city's language); translations/<lang>/LC_MESSAGES/messages.po
holds the other languages. The .po files are compiled into the instance folder when they change, so
nothing binary is committed and installation stays one command."""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def compile_catalogues(source: Path, target: Path) -> Path:
    for po in source.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f)
        tmp = mo.with_suffix(f".{os.getpid()}.tmp")  # processes starting at once each write their own
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        tmp.replace(mo)
    return target
