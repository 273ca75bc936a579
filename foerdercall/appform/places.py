"""Where a measure takes place: the city's districts (Stadtbezirke) and quarters (Ortsteile), or citywide.

The list is data: a JSON file (``PLACES_FILE``; Leipzig's 10 Stadtbezirke and 63 Ortsteile by default, with
their official numbers), ``{"citywide": {key, label}, "districts": [{key, number, label, quarters: [...]}]}``.
Another city names its own file. A proposal stores the key it chose (``proposals.place``); the implementation
report adds up by district, a quarter counting for the district it lies in."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context

from .definition import FormDefinition, Text, with_role_choices

DEFAULT_FILE = Path(__file__).with_name("data") / "places-leipzig.json"


@dataclass(frozen=True)
class Place:
    key: str
    label: Text
    kind: str  # citywide | district | quarter
    district: str  # the district's key (a district's own key; "" for citywide)
    number: str = ""

    def choice_label(self, lang: str) -> str:
        """As the select offers it: a quarter with its district, a district as a whole."""
        name = self.label.get(lang)
        if self.kind == "quarter":
            return f"{name} ({places().get(self.district, self).label.get(lang)})"
        if self.kind == "district":
            return (
                f"Stadtbezirk {name} (ganzer Bezirk)"
                if lang != "en"
                else f"District {name} (the whole district)"
            )
        return name


def _text(raw) -> Text:
    return Text(raw.get("de", ""), raw.get("en", "")) if isinstance(raw, dict) else Text(str(raw))


@functools.cache
def _read(path: str) -> dict[str, Place]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    found: dict[str, Place] = {}
    top = data["citywide"]
    found[top["key"]] = Place(top["key"], _text(top["label"]), "citywide", "")
    for d in data["districts"]:
        found[d["key"]] = Place(d["key"], _text(d["label"]), "district", d["key"], str(d.get("number", "")))
        for q in d.get("quarters", ()):
            found[q["key"]] = Place(
                q["key"], _text(q["label"]), "quarter", d["key"], str(q.get("number", ""))
            )
    return found


def _path() -> str:
    path = current_app.config.get("PLACES_FILE") if has_app_context() else None
    return str(path or DEFAULT_FILE)


def places() -> dict[str, Place]:
    """Every place by its key, in the file's order: citywide, then each district followed by its quarters."""
    return _read(_path())


def districts() -> list[Place]:
    return [p for p in places().values() if p.kind == "district"]


def district_of(key: str | None) -> str:
    """The district a chosen place counts for: a quarter's district, a district itself, "citywide" or "" (none)."""
    place = places().get(key or "")
    if place is None:
        return ""
    return place.district or place.key


def place_label(key: str | None, lang: str) -> str:
    place = places().get(key or "")
    return place.label.get(lang) if place else ""


def place_rows() -> list[dict[str, str]]:
    """The choices of a form's place question ({"key", "de", "en"}), as ``with_choices`` takes them."""
    return list(_rows(_path()))


@functools.cache
def _rows(path: str) -> tuple[dict[str, str], ...]:  # read once per file: every form definition asks for them
    return tuple(
        {"key": p.key, "de": p.choice_label("de"), "en": p.choice_label("en")} for p in _read(path).values()
    )


def with_places(definition: FormDefinition) -> FormDefinition:
    """The definition with the city's places as the choices of its place question (if it has one)."""
    if definition.by_role("place") is None:
        return definition
    return with_role_choices(definition, "place", _rows(_path()))
