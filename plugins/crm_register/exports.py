"""File exports: CSV and XLSX tables and printable address labels (PDF).

CSV files are UTF-8 with a byte-order mark (so Excel detects the encoding) and use the
semicolon as the separator, like Excel in Estonian and most European locales where the
comma is the decimal separator; lines end with CRLF. Cells starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return are prefixed with an apostrophe, so a spreadsheet
does not run them as formulas (CSV injection). In XLSX files every text cell is written as
text, never as a formula. Numbers (``int`` and ``Decimal`` values) stay numbers: in CSV with
the given decimal separator and a plain minus sign, in XLSX as numeric cells (amounts with
two decimals).

Labels are A4 sheets of 3 x 8 labels of 70 x 37 mm (e.g. Avery/Zweckform 3475, Herma
4453) in a font with the Estonian letters: DejaVu Sans from the system (Debian package
``fonts-dejavu-core``) when installed, else Bitstream Vera shipped inside reportlab.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

CSV_DELIMITER = ";"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"

LABEL_COLUMNS = 3
LABEL_ROWS = 8
LABEL_WIDTH_MM = 70.0
LABEL_HEIGHT_MM = 37.0
LABEL_PADDING_MM = 5.0
LABEL_MAX_LINES = 7
LABELS_PER_PAGE = LABEL_COLUMNS * LABEL_ROWS
FONT_NAME = "KHLabelSans"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)


def safe_cell(value: Any) -> str:
    """A value as CSV text, with a leading apostrophe when it could start a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def is_number(value: Any) -> bool:
    """True for the values written as numbers: ``int`` (not ``bool``) and ``Decimal``."""
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def csv_cell(value: Any, decimal_symbol: str = ",") -> str:
    """A value as CSV text: a number with ``decimal_symbol``, other values guarded."""
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", decimal_symbol)
    if is_number(value):
        return str(value)
    return safe_cell(value)


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]],
              decimal_symbol: str = ",") -> bytes:
    """A CSV file (UTF-8 with BOM, ``;``-separated) of ``headers`` and ``rows``; numbers
    are written with ``decimal_symbol``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n",
                        quoting=csv.QUOTE_MINIMAL)
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([csv_cell(v, decimal_symbol) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str) -> bytes:
    """An XLSX workbook with one sheet: a bold header row and ``rows``: numbers as numeric
    cells (``Decimal`` with two decimals), everything else as text cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = _sheet_title(title)
    widths = [len(str(h)) for h in headers]
    sheet.append([str(h) for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values = [v if is_number(v) else None if v is None or v == "" else str(v)
                  for v in row]
        sheet.append(values)
        for index, value in enumerate(values):
            if index < len(widths) and value is not None:
                widths[index] = max(widths[index], len(str(value)))
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even when it starts with "=": never a formula
            elif isinstance(cell.value, Decimal):
                cell.number_format = MONEY_FORMAT
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, width + 2))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\").strip()
    return (cleaned or "Sheet")[:31]


_font_registered = False


def label_font() -> str:
    """Register (once) and return the name of a TrueType font with Estonian letters."""
    global _font_registered
    if not _font_registered:
        import reportlab
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        bundled = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
        path = next((p for p in (*FONT_CANDIDATES, bundled) if p.is_file()), None)
        if path is None:
            raise RuntimeError("No TrueType font with Estonian letters found for labels")
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
        _font_registered = True
    return FONT_NAME


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Cut ``text`` with an ellipsis so that it fits ``width``."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _label_lines(lines: Sequence[str], font: str, size: float, width: float) -> list[str]:
    """The label's lines, a long one wrapped onto a second line (and cut after that)."""
    from reportlab.lib.utils import simpleSplit

    result: list[str] = []
    for line in lines:
        parts = simpleSplit(line, font, size, width) or [line]
        if len(parts) > 2:
            parts = [parts[0], " ".join(parts[1:])]
        result.extend(_fit(part, font, size, width) for part in parts)
    return result[:LABEL_MAX_LINES]


def labels_pdf(labels: Sequence[Sequence[str]], skip: int = 0, title: str = "") -> bytes:
    """A4 pages of 3 x 8 address labels; each label is a list of lines (blank ones dropped).

    ``skip`` leaves that many labels empty at the start of the first sheet (to reuse a
    partly used sheet).
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    font = label_font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("Kliendihaldus")
    page_width, page_height = A4
    width, height = LABEL_WIDTH_MM * mm, LABEL_HEIGHT_MM * mm
    left = (page_width - LABEL_COLUMNS * width) / 2
    top = page_height - (page_height - LABEL_ROWS * height) / 2
    pad = LABEL_PADDING_MM * mm
    slot = max(0, min(skip, LABELS_PER_PAGE - 1))
    for index, label in enumerate(labels):
        if index and slot == 0:
            canvas.showPage()
        given = [line.strip() for line in label if line and line.strip()]
        size = 10.0
        lines = _label_lines(given, font, size, width - 2 * pad)
        if len(lines) > 6:
            size = 8.5
            lines = _label_lines(given, font, size, width - 2 * pad)
        column, row = slot % LABEL_COLUMNS, slot // LABEL_COLUMNS
        x = left + column * width + pad
        leading = size * 1.2
        block = leading * (len(lines) - 1) + size
        y = top - row * height - (height - block) / 2 - size * 0.8
        canvas.setFont(font, size)
        for number, line in enumerate(lines):
            canvas.drawString(x, y - number * leading, line)
        slot = (slot + 1) % LABELS_PER_PAGE
    canvas.showPage()
    canvas.save()
    return out.getvalue()
