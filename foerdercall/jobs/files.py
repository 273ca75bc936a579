"""Downloads: a Content-Disposition that no file name can break (RFC 6266: an ASCII fallback plus the
UTF-8 name, RFC 5987)."""

from __future__ import annotations

import re
from urllib.parse import quote


def attachment_headers(name: str) -> dict[str, str]:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "download"
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    }
