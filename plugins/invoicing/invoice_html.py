"""The invoice as an e-mail body: self-contained HTML and the plain-text alternative.

The HTML is made for mail clients: tables for the layout, inline CSS only (no ``<style>``
block, no external images or fonts), a fixed width of 640 pixels. It shows the same content
as the PDF (:mod:`plugins.invoicing.pdf`) with the same wording and formatting from
:mod:`plugins.invoicing.invoice_labels`. Every text, the user's and the translated, is
escaped with :func:`markupsafe.escape`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

from plugins.invoicing import invoice_labels as labels
from plugins.invoicing.document import InvoiceDocument

WIDTH = 640
FONT_STACK = "Arial,Helvetica,sans-serif"
TEXT_COLOUR = "#222222"
MUTED = "#555555"
RULE = "#dddddd"
HEAD_BACKGROUND = "#eeeeee"
NUMERIC_LINE_COLUMNS = (0, 2, 4, 5, 6, 7)


def _lines(values: Iterable[str]) -> Markup:
    """Escaped lines joined with ``<br>``."""
    return Markup("<br>").join(escape(value) for value in values)


def _multiline(value: str) -> Markup:
    return _lines(value.splitlines())


def _cell(content: Markup | str, *, align: str = "left", bold: bool = False,
          muted: bool = False, head: bool = False, size: int = 13, width: str = "",
          border: str = "") -> Markup:
    """A ``<td>`` (``<th>`` for a heading) with inline style; ``content`` is escaped unless
    it is :class:`~markupsafe.Markup`."""
    style = (f"padding:4px 6px;font-family:{FONT_STACK};font-size:{size}px;"
             f"text-align:{align};vertical-align:top;"
             f"color:{MUTED if muted else TEXT_COLOUR};")
    if bold:
        style += "font-weight:bold;"
    if border:
        style += border
    if head:
        style += f"background:{HEAD_BACKGROUND};border-bottom:1px solid #999999;"
    width_attr = Markup(' width="{}"').format(width) if width else Markup("")
    template = (Markup('<th{width} style="{style}">{content}</th>') if head
                else Markup('<td{width} style="{style}">{content}</td>'))
    return template.format(width=width_attr, style=style, content=content)


def _key_value_rows(rows: Sequence[tuple[str, str]]) -> Markup:
    return Markup("").join(
        Markup("<tr>{}{}</tr>").format(_cell(label, muted=True), _cell(value))
        for label, value in rows)


def _table(body: Markup, width: str = "100%") -> Markup:
    return Markup('<table role="presentation" width="{width}" cellpadding="0" '
                  'cellspacing="0" border="0" style="border-collapse:collapse;">'
                  "{body}</table>").format(width=width, body=body)


def _party(name: str, lines: Sequence[str], heading: str | None, name_size: int) -> Markup:
    parts = []
    if heading:
        parts.append(Markup('<div style="color:{};font-size:12px;">{}</div>').format(
            MUTED, heading))
    parts.append(Markup('<div style="font-weight:bold;font-size:{}px;">{}</div>').format(
        name_size, name))
    parts.append(Markup("<div>{}</div>").format(_lines(lines)))
    return Markup("").join(parts)


def _lines_table(doc: InvoiceDocument, translate: labels.Translate) -> Markup:
    headers = labels.line_headers(translate)
    head = Markup("").join(
        _cell(text, head=True, size=12, bold=True,
              align="right" if index in NUMERIC_LINE_COLUMNS else "left")
        for index, text in enumerate(headers))
    rows = [Markup("<tr>{}</tr>").format(head)]
    border = f"border-bottom:1px solid {RULE};"
    for line in doc.lines:
        cells = labels.line_cells(line, doc.language)
        description = _multiline(cells.description)
        if cells.product_code:
            description += Markup('<br><span style="color:{};font-size:11px;">{}</span>'
                                  ).format(MUTED, cells.product_code)
        values = (cells.position, description, cells.quantity, cells.unit, cells.unit_price,
                  cells.discount, cells.net_amount, cells.vat)
        row = Markup("").join(
            _cell(value, size=12, border=border,
                  align="right" if index in NUMERIC_LINE_COLUMNS else "left")
            for index, value in enumerate(values))
        rows.append(Markup("<tr>{}</tr>").format(row))
    return _table(Markup("").join(rows))


def _amount_rows(rows: Iterable[tuple[str, str, bool]]) -> Markup:
    out = []
    for label, value, emphasised in rows:
        border = "border-top:2px solid #222222;" if emphasised else ""
        out.append(Markup("<tr>{}{}</tr>").format(
            _cell(label, bold=emphasised, border=border),
            _cell(value, align="right", bold=emphasised, size=15 if emphasised else 13,
                  border=border)))
    return Markup("").join(out)


def _vat_table(doc: InvoiceDocument, translate: labels.Translate) -> Markup:
    head = Markup("").join(_cell(text, head=True, size=12, bold=True, align="right")
                           for text in labels.vat_headers(translate))
    body = Markup("").join(
        Markup("<tr>{}{}{}</tr>").format(_cell(rate, align="right"),
                                         _cell(taxable, align="right"),
                                         _cell(tax, align="right"))
        for rate, taxable, tax in labels.vat_rows(doc, translate))
    return _table(Markup("<tr>{}</tr>{}").format(head, body))


def _heading(text: str) -> Markup:
    return Markup('<div style="font-weight:bold;font-size:15px;margin:18px 0 6px 0;">{}'
                  "</div>").format(text)


def render_html(doc: InvoiceDocument, translate: labels.Translate) -> str:
    """The invoice ``doc`` as a self-contained HTML e-mail body in the client's language
    (inline CSS, table layout, every text escaped)."""
    language = labels.babel_locale(doc.language)
    title = labels.document_title(doc, translate)
    seller = _party(doc.seller.name, labels.party_lines(doc.seller, doc, translate), None, 17)
    buyer = _party(doc.buyer.name, labels.party_lines(doc.buyer, doc, translate),
                   translate(labels.BUYER), 14)
    header = _table(Markup(
        "<tr>{}{}</tr><tr>{}{}</tr>").format(
        _cell(seller, width="50%"),
        _cell(Markup('<div style="font-weight:bold;font-size:22px;">{}</div>').format(title),
              align="right", width="50%"),
        _cell(buyer),
        _cell(_table(_key_value_rows(labels.detail_rows(doc, translate))), align="right")))
    parts = [header, Markup('<div style="height:16px;"></div>'), _lines_table(doc, translate)]

    allowances = labels.allowance_rows(doc, translate)
    if allowances:
        parts.append(Markup('<div style="height:10px;"></div>'))
        parts.append(_table(_amount_rows((label, value, False) for label, value in allowances),
                            width="60%"))
    totals = _table(_amount_rows((row.label, row.value, row.emphasised)
                                 for row in labels.total_rows(doc, translate)))
    parts.append(_table(Markup("<tr>{}{}</tr>").format(
        _cell(_heading(translate(labels.VAT_BREAKDOWN)) + _vat_table(doc, translate),
              width="50%"),
        _cell(Markup('<div style="height:40px;"></div>') + totals, width="50%"))))

    payment = labels.payment_rows(doc, translate)
    if payment:
        parts.append(_heading(translate(labels.PAYMENT_DETAILS)))
        parts.append(_table(_key_value_rows(payment), width="100%"))
        if doc.reference_number:
            parts.append(Markup('<p style="color:{};font-size:12px;">{}</p>').format(
                MUTED, translate(labels.PAYMENT_NOTICE)))
    if doc.notes and doc.notes.strip():
        parts.append(_heading(translate(labels.NOTES)))
        parts.extend(Markup('<p style="margin:0 0 8px 0;">{}</p>').format(_multiline(p))
                     for p in doc.notes.strip().split("\n\n"))

    preheader = labels.metadata_subject(doc, translate)
    page = Markup(
        '<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>{title}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f4;">\n'
        '<div style="display:none;max-height:0;overflow:hidden;">{preheader}</div>\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f4f4f4;"><tr><td align="center" style="padding:16px 8px;">\n'
        '<table role="presentation" width="{width}" cellpadding="0" cellspacing="0" border="0" '
        'style="width:{width}px;max-width:100%;background:#ffffff;border-collapse:collapse;">'
        '<tr><td style="padding:24px;font-family:{font};font-size:13px;color:{colour};">\n'
        "{content}\n</td></tr></table>\n</td></tr></table>\n</body>\n</html>\n"
    ).format(lang=language, title=title, preheader=preheader, width=WIDTH, font=FONT_STACK,
             colour=TEXT_COLOUR, content=Markup("\n").join(parts))
    return str(page)


def render_text(doc: InvoiceDocument, translate: labels.Translate) -> str:
    """The invoice ``doc`` as plain text (the ``text/plain`` part of the e-mail), with the
    same content and wording as the HTML and the PDF."""
    out: list[str] = []
    title = labels.document_title(doc, translate)
    out += [title, "=" * len(title), ""]
    out += [f"{translate(labels.SELLER)}:", doc.seller.name,
            *labels.party_lines(doc.seller, doc, translate), ""]
    out += [f"{translate(labels.BUYER)}:", doc.buyer.name,
            *labels.party_lines(doc.buyer, doc, translate), ""]
    out += [f"{label}: {value}" for label, value in labels.detail_rows(doc, translate)]
    out.append("")

    headers = labels.line_headers(translate)
    quantity_h, unit_price_h, discount_h, net_h, vat_h = (
        headers[2], headers[4], headers[5], headers[6], headers[7])
    for line in doc.lines:
        cells = labels.line_cells(line, doc.language)
        code = f" ({cells.product_code})" if cells.product_code else ""
        description = " ".join(cells.description.split())
        out.append(f"{cells.position}. {description}{code}")
        details = [f"{quantity_h}: {cells.quantity} {cells.unit}".rstrip(),
                   f"{unit_price_h}: {cells.unit_price}"]
        if cells.discount:
            details.append(f"{discount_h}: {cells.discount}")
        details += [f"{net_h}: {cells.net_amount}", f"{vat_h}: {cells.vat}"]
        out.append("   " + " | ".join(details))
    out.append("")

    for label, value in labels.allowance_rows(doc, translate):
        out.append(f"{label}: {value}")
    out.append(f"{translate(labels.VAT_BREAKDOWN)}:")
    vat_headers = labels.vat_headers(translate)
    for rate, taxable, tax in labels.vat_rows(doc, translate):
        out.append(f"   {rate}: {vat_headers[1]} {taxable}, {vat_headers[2]} {tax}")
    out.append("")
    out += [f"{row.label}: {row.value}" for row in labels.total_rows(doc, translate)]

    payment = labels.payment_rows(doc, translate)
    if payment:
        out += ["", f"{translate(labels.PAYMENT_DETAILS)}:"]
        out += [f"{label}: {value}" for label, value in payment]
        if doc.reference_number:
            out.append(translate(labels.PAYMENT_NOTICE))
    if doc.notes and doc.notes.strip():
        out += ["", f"{translate(labels.NOTES)}:", doc.notes.strip()]
    return labels.plain_spaces("\n".join(out)) + "\n"
