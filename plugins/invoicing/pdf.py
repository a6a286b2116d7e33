"""The invoice as an A4 PDF (reportlab platypus).

The layout, top to bottom: the seller and the title with the number; the buyer and the
dates and references; the lines table (its header repeated on every page); the lines total
and the whole-invoice discounts; the VAT breakdown beside the totals; the payment
instructions; the notes. Every page has a footer with the title and "Lk 1/2" /
"Page 1 of 2": pages are numbered when the document is saved, so the total is known.

Wording and formatting come from :mod:`plugins.invoicing.invoice_labels`, shared with the
HTML and plain-text renderers. Text is real text in a TrueType font with the Estonian
letters (DejaVu Sans from Debian's ``fonts-dejavu-core`` when installed, else Bitstream Vera
shipped inside reportlab), embedded as a subset, so it can be searched and copied.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from plugins.invoicing import invoice_labels as labels
from plugins.invoicing.document import InvoiceDocument

FONT = "KHInvoiceSans"
FONT_BOLD = "KHInvoiceSans-Bold"
FONT_CANDIDATES = (
    (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
     Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")),
    (Path("/usr/share/fonts/TTF/DejaVuSans.ttf"), Path("/usr/share/fonts/TTF/DejaVuSans-Bold.ttf")),
)
"""Regular and bold DejaVu Sans in the usual Linux locations (tried in order)."""

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
BOTTOM_MARGIN = 22 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN
FONT_SIZE = 9
SMALL_SIZE = 7.5
GREY = colors.HexColor("#555555")
RULE = colors.HexColor("#999999")
HEADER_BACKGROUND = colors.HexColor("#EEEEEE")
LINE_COLUMN_WIDTHS = (8 * mm, None, 17 * mm, 12 * mm, 20 * mm, 21 * mm, 24 * mm, 13 * mm)
"""No., description (the rest), quantity, unit, unit price, discount %, net amount, VAT %."""
NUMERIC_LINE_COLUMNS = (0, 2, 4, 5, 6, 7)
PRODUCER = "Kliendihaldus"

_font_lock = threading.Lock()
_fonts_registered = False


def invoice_fonts() -> tuple[str, str]:
    """Register (once) and return the regular and bold font names with Estonian letters."""
    global _fonts_registered
    with _font_lock:
        if not _fonts_registered:
            import reportlab
            from reportlab.lib.fonts import addMapping
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            bundled = Path(reportlab.__file__).parent / "fonts"
            candidates = (*FONT_CANDIDATES, (bundled / "Vera.ttf", bundled / "VeraBd.ttf"))
            found = next(((regular, bold) for regular, bold in candidates
                          if regular.is_file() and bold.is_file()), None)
            if found is None:
                raise RuntimeError("No TrueType font with Estonian letters found for invoices")
            pdfmetrics.registerFont(TTFont(FONT, str(found[0])))
            pdfmetrics.registerFont(TTFont(FONT_BOLD, str(found[1])))
            for bold, italic, name in ((0, 0, FONT), (1, 0, FONT_BOLD), (0, 1, FONT),
                                       (1, 1, FONT_BOLD)):
                addMapping(FONT, bold, italic, name)
            _fonts_registered = True
    return FONT, FONT_BOLD


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = invoice_fonts()
    base = ParagraphStyle("kh-base", fontName=regular, fontSize=FONT_SIZE, leading=11.5)
    return {
        "base": base,
        "small": ParagraphStyle("kh-small", parent=base, fontSize=SMALL_SIZE, leading=9.5,
                                textColor=GREY),
        "seller": ParagraphStyle("kh-seller", parent=base, fontName=bold, fontSize=12,
                                 leading=15),
        "title": ParagraphStyle("kh-title", parent=base, fontName=bold, fontSize=16,
                                leading=20, alignment=TA_RIGHT),
        "heading": ParagraphStyle("kh-heading", parent=base, fontName=bold, fontSize=10,
                                  leading=13, spaceBefore=4, spaceAfter=2,
                                  keepWithNext=1),
        "label": ParagraphStyle("kh-label", parent=base, textColor=GREY),
        "right": ParagraphStyle("kh-right", parent=base, alignment=TA_RIGHT),
        "cell": ParagraphStyle("kh-cell", parent=base, fontSize=8.5, leading=10.5),
        "cell-head": ParagraphStyle("kh-cell-head", parent=base, fontName=bold, fontSize=8,
                                    leading=10),
        "cell-head-right": ParagraphStyle("kh-cell-head-right", parent=base, fontName=bold,
                                          fontSize=8, leading=10, alignment=TA_RIGHT),
    }


def _text(value: str) -> str:
    """User or translated text as Paragraph markup: escaped, line breaks kept."""
    return "<br/>".join(escape(line, quote=False) for line in value.splitlines())


class _NumberedCanvas(Canvas):
    """A canvas that keeps every page until the document is saved, then draws the footer
    ("Page 1 of 2") on each, now that the number of pages is known."""

    def __init__(self, *args: Any, footer: Callable[[Canvas, int, int], None],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        """Keep the finished page; it is written out in :meth:`save`."""
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        """Draw the footer on every kept page, then write the document."""
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(self, number, total)
            super().showPage()
        super().save()


def _footer_painter(doc: InvoiceDocument, translate: labels.Translate
                    ) -> Callable[[Canvas, int, int], None]:
    regular, _bold = invoice_fonts()
    title = labels.document_title(doc, translate)
    seller = doc.seller.name

    def paint(canvas: Canvas, page: int, pages: int) -> None:
        number = translate(labels.page_label(page, pages))
        room = FRAME_WIDTH - stringWidth(number, regular, SMALL_SIZE) - 6 * mm
        left = f"{seller} · {title}"
        while left and stringWidth(left, regular, SMALL_SIZE) > room:
            left = left[:-2] + "…"
        canvas.saveState()
        y = BOTTOM_MARGIN - 10 * mm
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, y + 4 * mm, PAGE_WIDTH - MARGIN, y + 4 * mm)
        canvas.setFont(regular, SMALL_SIZE)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN, y, left)
        canvas.drawRightString(PAGE_WIDTH - MARGIN, y, number)
        canvas.restoreState()

    return paint


def _party_block(name: str, lines: Sequence[str], heading: str | None,
                 styles: dict[str, ParagraphStyle], name_style: str) -> list[Flowable]:
    flowables: list[Flowable] = []
    if heading:
        flowables.append(Paragraph(_text(heading), styles["label"]))
    flowables.append(Paragraph(_text(name), styles[name_style]))
    flowables.extend(Paragraph(_text(line), styles["base"]) for line in lines)
    return flowables


def _key_value_table(rows: Sequence[tuple[str, str]], styles: dict[str, ParagraphStyle],
                     widths: tuple[float, float], align: str = "RIGHT") -> Table:
    data = [[Paragraph(_text(label), styles["label"]), Paragraph(_text(value), styles["base"])]
            for label, value in rows]
    table = Table(data, colWidths=widths, hAlign=align)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    return table


def _header(doc: InvoiceDocument, translate: labels.Translate,
            styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    half = FRAME_WIDTH / 2
    seller = _party_block(doc.seller.name, labels.party_lines(doc.seller, doc, translate),
                          None, styles, "seller")
    title = [Paragraph(_text(labels.document_title(doc, translate)), styles["title"])]
    buyer = _party_block(doc.buyer.name, labels.party_lines(doc.buyer, doc, translate),
                         translate(labels.BUYER), styles, "heading")
    details = _key_value_table(labels.detail_rows(doc, translate), styles,
                               (34 * mm, half - 34 * mm - 6 * mm))
    table = Table([[seller, title], [buyer, details]], colWidths=(half, half))
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 8 * mm),
    ]))
    return [table, Spacer(1, 6 * mm)]


def _lines_table(doc: InvoiceDocument, translate: labels.Translate,
                 styles: dict[str, ParagraphStyle]) -> Table:
    headers = labels.line_headers(translate)
    header_row = [Paragraph(_text(text), styles["cell-head-right" if index in
                                                NUMERIC_LINE_COLUMNS else "cell-head"])
                  for index, text in enumerate(headers)]
    data: list[list[Any]] = [header_row]
    for line in doc.lines:
        cells = labels.line_cells(line, doc.language)
        description = _text(cells.description)
        if cells.product_code:
            description += (f'<br/><font size="{SMALL_SIZE}" color="#555555">'
                            f"{_text(cells.product_code)}</font>")
        data.append([cells.position, Paragraph(description, styles["cell"]), cells.quantity,
                     Paragraph(_text(cells.unit), styles["cell"]), cells.unit_price,
                     cells.discount, cells.net_amount, cells.vat])
    fixed = sum(w for w in LINE_COLUMN_WIDTHS if w is not None)
    widths = [w if w is not None else FRAME_WIDTH - fixed for w in LINE_COLUMN_WIDTHS]
    # splitInRow: a line with a very long description may continue on the next page.
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
    regular, _bold = invoice_fonts()
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 1), (-1, -1), regular),
        ("FONTSIZE", (0, 1), (-1, -1), 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, RULE),
        ("LINEBELOW", (0, -1), (-1, -1), 0.75, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    commands.extend(("ALIGN", (column, 1), (column, -1), "RIGHT")
                    for column in NUMERIC_LINE_COLUMNS)
    commands.extend(("LINEBELOW", (0, row), (-1, row), 0.25, colors.HexColor("#DDDDDD"))
                    for row in range(1, len(data) - 1))
    table.setStyle(TableStyle(commands))
    return table


def _amount_table(rows: Sequence[tuple[str, str, bool]], styles: dict[str, ParagraphStyle],
                  widths: tuple[float, float]) -> Table:
    regular, bold = invoice_fonts()
    data = [[Paragraph(_text(label), styles["base"]), value] for label, value, _em in rows]
    table = Table(data, colWidths=widths, hAlign="RIGHT")
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (1, 0), (1, -1), regular),
        ("FONTSIZE", (1, 0), (1, -1), FONT_SIZE),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    for index, (_label, _value, emphasised) in enumerate(rows):
        if emphasised:
            commands += [("FONTNAME", (1, index), (1, index), bold),
                         ("FONTSIZE", (1, index), (1, index), 11),
                         ("LINEABOVE", (0, index), (-1, index), 0.75, colors.black)]
    table.setStyle(TableStyle(commands))
    return table


def _summary(doc: InvoiceDocument, translate: labels.Translate,
             styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    flowables: list[Flowable] = [Spacer(1, 3 * mm)]
    allowances = labels.allowance_rows(doc, translate)
    if allowances:
        flowables.append(_amount_table([(label, value, False) for label, value in allowances],
                                       styles, (90 * mm, 30 * mm)))
        flowables.append(Spacer(1, 3 * mm))
    regular, _bold = invoice_fonts()
    vat_data: list[list[Any]] = [[Paragraph(_text(text), styles["cell-head-right"])
                                  for text in labels.vat_headers(translate)]]
    vat_data.extend([Paragraph(_text(rate), styles["right"]), taxable, tax]
                    for rate, taxable, tax in labels.vat_rows(doc, translate))
    vat_table = Table(vat_data, colWidths=(30 * mm, 27 * mm, 25 * mm), hAlign="LEFT")
    vat_table.setStyle(TableStyle([
        ("FONTNAME", (0, 1), (-1, -1), regular),
        ("FONTSIZE", (0, 1), (-1, -1), FONT_SIZE),
        ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, RULE),
    ]))
    vat_block = [Paragraph(_text(translate(labels.VAT_BREAKDOWN)), styles["heading"]),
                 vat_table]
    totals = _amount_table([(row.label, row.value, row.emphasised)
                            for row in labels.total_rows(doc, translate)], styles,
                           (50 * mm, 34 * mm))
    side_by_side = Table([[vat_block, totals]],
                         colWidths=(FRAME_WIDTH - 88 * mm, 88 * mm))
    side_by_side.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ]))
    flowables.append(side_by_side)
    return [KeepTogether(flowables)]


def _payment(doc: InvoiceDocument, translate: labels.Translate,
             styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    rows = labels.payment_rows(doc, translate)
    if not rows:
        return []
    block: list[Flowable] = [
        Spacer(1, 5 * mm),
        Paragraph(_text(translate(labels.PAYMENT_DETAILS)), styles["heading"]),
        _key_value_table(rows, styles, (40 * mm, FRAME_WIDTH - 40 * mm), "LEFT"),
    ]
    if doc.reference_number:
        block.append(Spacer(1, 1.5 * mm))
        block.append(Paragraph(_text(translate(labels.PAYMENT_NOTICE)), styles["small"]))
    return [KeepTogether(block)]


def _notes(doc: InvoiceDocument, translate: labels.Translate,
           styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    if not doc.notes or not doc.notes.strip():
        return []
    flowables: list[Flowable] = [Spacer(1, 5 * mm), Paragraph(_text(translate(labels.NOTES)),
                                                              styles["heading"])]
    flowables.extend(Paragraph(_text(paragraph), styles["base"])
                     for paragraph in doc.notes.strip().split("\n\n"))
    return flowables


def render_pdf(doc: InvoiceDocument, translate: labels.Translate) -> bytes:
    """The invoice ``doc`` as an A4 PDF in the client's language.

    ``translate`` translates the plugin's translation strings into ``doc.language`` (e.g.
    ``core.i18n.localizer_for(registry, doc.language).translate``).
    """
    styles = _styles()
    story: list[Flowable] = []
    story += _header(doc, translate, styles)
    story.append(_lines_table(doc, translate, styles))
    story += _summary(doc, translate, styles)
    story += _payment(doc, translate, styles)
    story += _notes(doc, translate, styles)

    out = io.BytesIO()
    template = BaseDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=BOTTOM_MARGIN,
        title=labels.plain_spaces(labels.document_title(doc, translate)),
        author=doc.seller.name, subject=labels.metadata_subject(doc, translate),
        creator=PRODUCER, producer=PRODUCER, lang=labels.babel_locale(doc.language),
    )
    frame = Frame(MARGIN, BOTTOM_MARGIN, FRAME_WIDTH, PAGE_HEIGHT - MARGIN - BOTTOM_MARGIN,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    template.addPageTemplates([PageTemplate(id="invoice", frames=[frame])])
    footer = _footer_painter(doc, translate)

    def canvas_maker(*args: Any, **kwargs: Any) -> Canvas:
        return _NumberedCanvas(*args, footer=footer, **kwargs)

    template.build(story, canvasmaker=canvas_maker)
    return out.getvalue()
