"""A small, safe PDF writer on fpdf2: a document is a list of blocks, rendered with an embedded TrueType font.

User text is only ever passed as plain text: fpdf2's markdown and the total-pages alias are off for it, so
`**`, `<b>`, `{nb}` or backslashes appear exactly as typed. The font (DejaVu Sans, Bitstream Vera licence,
see fonts/LICENSE) is embedded as a subset, so umlauts, ß and € show in every viewer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

from ..publicity import EMBLEM

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str
    bold: bool = False
    small: bool = False


@dataclass
class Facts:
    """Label/value pairs (a two-column table without header)."""

    rows: list[tuple[str, str]]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    widths: tuple[int, ...] | None = None  # relative column widths


@dataclass
class Document:
    title: str
    lang: str
    issued_at: dt.datetime  # the moment the document speaks of: makes the file reproducible
    sender: list[str] = field(default_factory=list)  # letterhead lines
    address: list[str] = field(default_factory=list)  # recipient block (letters)
    footer: str = ""  # "Seite %(page)s von %(pages)s" in the document's language
    eu_statement: str = ""  # an EU-co-funded call's: the emblem with this statement heads the first page
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> Document:
        self.blocks.extend(b for b in blocks if b is not None)
        return self


class _PDF(FPDF):
    footer_text = ""
    total_pages = 0

    def footer(self):
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(
            0,
            5,
            self.footer_text.replace("%(page)s", str(self.page_no())).replace(
                "%(pages)s", str(self.total_pages or "…")
            ),
            align="R",
        )
        self.set_text_color(0, 0, 0)


def _clean(text) -> str:
    """Plain text for a cell: str(), tabs as spaces, no control characters (fpdf2 cannot show them)."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return "".join(ch for ch in s if ch == "\n" or ch >= " ")


def render(doc: Document) -> bytes:
    """Two passes: the first counts the pages for "page x of y" (fpdf2's own alias would also replace
    the alias inside user text)."""
    pages, _ = _render(doc, 0)
    return _render(doc, pages)[1]


def _render(doc: Document, total_pages: int) -> tuple[int, bytes]:
    pdf = _PDF(format="A4", unit="mm")
    pdf.str_alias_nb_pages = None  # type: ignore[assignment]  # fpdf2 takes None as no alias: user text like "{nb}" stays as typed
    pdf.footer_text = doc.footer
    pdf.total_pages = total_pages
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(_clean(doc.title))
    pdf.set_lang("de-DE" if doc.lang == "de" else "en-GB")
    pdf.set_creator("foerdercall")
    pdf.set_author(_clean(doc.sender[0]) if doc.sender else "foerdercall")
    pdf.set_creation_date(doc.issued_at.astimezone(dt.UTC))
    pdf.add_page()
    w = _Writer(pdf)
    if doc.eu_statement:  # top right: the emblem (3:2), the statement under it
        width = 27.0
        pdf.image(str(EMBLEM), x=pdf.w - pdf.r_margin - width, y=pdf.t_margin - 6, w=width)
        w._font("", 8)
        text = _clean(doc.eu_statement)
        pdf.text(
            pdf.w - pdf.r_margin - pdf.get_string_width(text), pdf.t_margin - 6 + width * 2 / 3 + 4, text
        )
        pdf.set_y(pdf.t_margin - 6 + width * 2 / 3 + 8)
    if doc.sender:
        w.para(doc.sender[0], "B", 10, 5, after=0)
        for line in doc.sender[1:]:
            w.para(line, "", 9, 4.5, after=0)
        w.space(4)
    if doc.address:
        for line in doc.address:
            w.para(line, "", 10, 5, after=0)
        w.space(6)
    w.para(doc.title, "B", 15, 7, after=3)
    for block in doc.blocks:
        if isinstance(block, Heading):
            if pdf.get_y() + 20 > pdf.page_break_trigger:
                pdf.add_page()
            w.space(2)
            w.para(block.text, "B", 12.5 if block.level == 1 else 11, 6, after=1.5)
        elif isinstance(block, Para):
            w.para(
                block.text, "B" if block.bold else "", 8.5 if block.small else 10, 4.5 if block.small else 5
            )
        elif isinstance(block, Facts):
            w.table(None, [list(r) for r in block.rows], (35, 65), first_bold=True)
        elif isinstance(block, Table):
            w.table(block.headers, block.rows, block.widths)
    data = bytes(pdf.output())
    return pdf.pages_count, data


class _Writer:
    """Left-aligned text and simple tables, laid out here: word widths are measured once and cached, so
    long tables (a call's Vergabevermerk) stay linear in their text. Text is drawn with `text()`, which
    interprets nothing."""

    PAD = 1.2  # cell padding, mm
    LINE = 4.2  # table line height, mm
    SIZE = 9  # table font size, pt

    def __init__(self, pdf: FPDF):
        self.pdf = pdf
        self._cache: dict[tuple[str, float, str], float] = {}

    def _font(self, style: str, size: float) -> None:
        if (self.pdf.font_style, self.pdf.font_size_pt) != (
            style,
            size,
        ) or self.pdf.font_family != FONT.lower():
            self.pdf.set_font(FONT, style, size)

    def _w(self, s: str, style: str, size: float) -> float:
        key = (style, size, s)
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = self.pdf.get_string_width(s)
        return value

    def wrap(self, text: str, max_w: float, style: str, size: float) -> list[str]:
        self._font(style, size)
        space = self._w(" ", style, size)
        lines: list[str] = []
        for raw in _clean(text).split("\n"):
            cur, cur_w = "", 0.0
            for word in raw.split(" "):
                ww = self._w(word, style, size)
                if ww > max_w:  # a word longer than the column: break it between characters
                    if cur:
                        lines.append(cur)
                    cur, cur_w = "", 0.0
                    for ch in word:
                        cw = self._w(ch, style, size)
                        if cur and cur_w + cw > max_w:
                            lines.append(cur)
                            cur, cur_w = "", 0.0
                        cur, cur_w = cur + ch, cur_w + cw
                    continue
                if cur and cur_w + space + ww > max_w:
                    lines.append(cur)
                    cur, cur_w = word, ww
                elif cur or cur_w:
                    cur, cur_w = cur + " " + word, cur_w + space + ww
                else:
                    cur, cur_w = word, ww if word else space
            lines.append(cur)
        return lines

    def space(self, h: float) -> None:
        self.pdf.set_y(self.pdf.get_y() + h)

    def _room(self, h: float) -> float:
        """The y to draw a piece of height h at, after a page break if it does not fit."""
        y = self.pdf.get_y()
        if y + h > self.pdf.page_break_trigger:
            self.pdf.add_page()
            y = self.pdf.get_y()
        return y

    def para(self, text: str, style: str, size: float, h: float, after: float = 1.5) -> None:
        pdf = self.pdf
        for line in self.wrap(text, pdf.epw, style, size):
            y = self._room(h)
            self._font(style, size)
            if line:
                pdf.text(pdf.l_margin, y + h * 0.75, line)
            pdf.set_y(y + h)
        self.space(after)

    def table(self, headers, rows, widths, first_bold: bool = False) -> None:
        if not rows:
            return
        pdf = self.pdf
        ncols = len(headers) if headers else len(rows[0])
        rel = widths or tuple(1 for _ in range(ncols))
        cols = [pdf.epw * w / sum(rel) for w in rel]
        pdf.set_draw_color(150, 150, 150)
        pdf.set_line_width(0.2)

        def draw(cells, bold) -> None:
            styles = ["B" if b else "" for b in bold]
            lines = [
                self.wrap(str(c), cw - 2 * self.PAD, st, self.SIZE)
                for c, cw, st in zip(cells, cols, styles, strict=False)
            ]
            height = max(len(x) for x in lines) * self.LINE + 2 * self.PAD
            usable = pdf.page_break_trigger - pdf.t_margin
            y = self._room(min(height, usable)) + self.PAD
            if height <= usable:  # cell after cell: the reading order of the text is the table's
                x = pdf.l_margin
                for col, cw, st in zip(lines, cols, styles, strict=False):
                    self._font(st, self.SIZE)
                    for k, line in enumerate(col):
                        if line:
                            pdf.text(x + self.PAD, y + self.LINE * (k + 0.75), line)
                    x += cw
                y += max(len(x) for x in lines) * self.LINE
            else:  # a row longer than a page goes on, line by line, on the next
                for k in range(max(len(x) for x in lines)):
                    if y + self.LINE > pdf.page_break_trigger:
                        pdf.add_page()
                        y = pdf.get_y()
                    x = pdf.l_margin
                    for col, cw, st in zip(lines, cols, styles, strict=False):
                        if k < len(col) and col[k]:
                            self._font(st, self.SIZE)
                            pdf.text(x + self.PAD, y + self.LINE * 0.75, col[k])
                        x += cw
                    y += self.LINE
            y += self.PAD
            pdf.line(pdf.l_margin, y, pdf.l_margin + pdf.epw, y)
            pdf.set_y(y)

        if headers:
            draw(headers, [True] * ncols)
        for r in rows:
            draw(r, [first_bold and i == 0 for i in range(ncols)])
        self.space(2)
