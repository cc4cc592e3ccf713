"""The PDF page Kursbot's documents share: A4, DejaVu Sans embedded, a foot on every page.

The attendance list and the certificates (`kurse.exports`) and the report of the figures
(`kurse.report`) are written with it, so that every name prints as written (Latin with every
accent, Greek, Cyrillic) and each document's foot says the same kind of thing in the same
place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from fpdf import FPDF, XPos, YPos

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVuSans"  # DejaVu Sans 2.37 (see fonts/README.md): Latin, Greek, Cyrillic
MARGIN = 15  # mm, all around a `PagedDocument`


def add_fonts(pdf: FPDF) -> None:
    """Embeds DejaVu Sans, regular and bold, as `FONT` (``set_font(FONT, "B")`` is bold)."""
    pdf.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")


class PagedDocument(FPDF):
    """A4 with `add_fonts` and margins of `MARGIN`, pages breaking by themselves, and a foot
    on each page: ``footer`` at the left (what the document is, when it was made) and
    ``page`` at the right, a text with ``{page}`` and ``{pages}`` ("Seite {page} von
    {pages}")."""

    def __init__(self, orientation: str, footer: str, page: str) -> None:
        super().__init__(orientation=orientation, format="A4")
        add_fonts(self)
        self._footer_text, self._page_text = footer, page
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN + 5)
        self.alias_nb_pages()

    def footer(self) -> None:
        """Writes the document's foot line and "page x of y" at the page's foot."""
        self.set_y(-MARGIN)
        self.set_font(FONT, size=8)
        self.cell(0, 6, self._footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 6, self._page_text.format(page=self.page_no(), pages="{nb}"), align="R")


class Below(TypedDict):
    """`FPDF.multi_cell`'s keywords for "the next line below, at the left margin" (typed, so
    that mypy checks them against the signature)."""

    new_x: XPos
    new_y: YPos


BELOW = Below(new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # ``pdf.multi_cell(0, 5, text, **BELOW)``
