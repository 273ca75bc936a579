#!/usr/bin/env python3
"""Set English translations from the command line: scripts/translate.py 'Deutsch=English' ..."""

import pathlib
import sys

from babel.messages.pofile import read_po, write_po

PO = pathlib.Path(__file__).resolve().parent.parent / "translations/en/LC_MESSAGES/messages.po"

with PO.open("rb") as f:
    catalog = read_po(f)
for pair in sys.argv[1:]:
    de, _, en = pair.partition("=")
    message = catalog.get(de)
    if message is None:
        sys.exit(f"no msgid {de!r}: run scripts/update-translations first")
    message.string = en
    message.flags.discard("fuzzy")
with PO.open("wb") as f:
    write_po(f, catalog, omit_header=False, no_location=True)
