"""EU publicity (Art. 47 and 50, Annex IX of Regulation (EU) 2021/1060): a call marked as co-funded by the EU
(ERDF) shows the EU emblem with the funding statement on its public pages and on every document it produces,
the award letter included, whose contract text passes the duty on to the contractor or grant recipient."""

from __future__ import annotations

from pathlib import Path

EMBLEM = Path(__file__).resolve().parent / "static" / "eu-emblem.svg"  # 3:2, the flag of the European Union
STATEMENT = {"de": "Kofinanziert von der Europäischen Union", "en": "Co-funded by the European Union"}


def eu_statement(call, lang: str) -> str:
    """The funding statement beside the emblem, in the reader's language; "" for a call without EU money."""
    if call is None or not call.eu_funded:
        return ""
    return STATEMENT.get(lang, STATEMENT["de"])
