"""Building blocks of the HTML report: the style sheet, the script, number formats,
tables and the inline SVG charts.

Everything here returns text and is deterministic: coordinates are rounded to one
decimal, nothing depends on the clock or the machine. Every text that comes from the
data goes through :func:`esc` (HTML escaping, quotes included), so an account called
``<script>`` shows as text. The page needs no network: no fonts, images, styles or
scripts are loaded from anywhere (the report's Content-Security-Policy forbids it).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Sequence

INK = "#1f3a5f"
ACCENT = "#d1495b"
GRID = "#e3e7ec"
BAD = "#c53030"
BAR = "#5b8db8"
TIER_COLOURS = {"platinum": "#7a8896", "gold": "#c9a227", "silver": "#9aa5b1", "bronze": "#b0703c"}
PALETTE = ["#1f3a5f", "#5b8db8", "#8fb8de", "#3c7a6e", "#a0c4a9", "#7a5c99", "#c48bb3", "#d1495b"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
"""The page's Content-Security-Policy: any network reference is blocked (and logged)."""


def esc(value: Any) -> str:
    """Text for HTML (element content or a quoted attribute): ``& < > " '`` escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def tier_colour(tier: str, k: int) -> str:
    """A tier's colour: the metal it is named after, else the k-th colour of the palette."""
    return TIER_COLOURS.get(tier.lower(), PALETTE[k % len(PALETTE)])


# --------------------------------------------------------------------------- numbers


def to_float(text: Any) -> float | None:
    """A number from a CSV cell or JSON value; None for blanks and non-numbers."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text) if math.isfinite(text) else None
    try:
        v = float(str(text).strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def number(v: float | None, decimals: int = 0) -> str:
    """``1,234,567`` (thousands separated); an em dash for no value; never ``-0``."""
    if v is None:
        return "—"
    text = f"{v:,.{decimals}f}"
    return text.lstrip("-") if text.lstrip("-").strip("0.,") == "" else text


def compact(v: float | None) -> str:
    """Money in few characters: ``16.08 M``, ``950 k``, ``1.20 bn``."""
    if v is None:
        return "—"
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"{v / 1e6:,.2f} M"
    if a >= 1e4:
        return f"{v / 1e3:,.0f} k"
    return number(v)


def percent(v: float | None, decimals: int = 1) -> str:
    return "—" if v is None else f"{number(v, decimals)} %"


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """One column of a rendered table."""

    key: str
    """The row's key (a CSV header)."""
    title: str
    kind: str = "text"
    """``text``; numbers: ``money`` (0 decimals), ``int``, ``num1``, ``num2``, ``pct``, ``num`` (as few
    decimals as needed); ``html`` (trusted markup) and ``htmlnum`` (a ``(sort number, markup)`` pair)."""
    wrap: bool = False
    """Let long text wrap (cells of other columns stay on one line)."""

    @property
    def numeric(self) -> bool:
        return self.kind in ("money", "int", "num1", "num2", "pct", "num", "htmlnum")


_DECIMALS = {"money": 0, "int": 0, "num1": 1, "num2": 2, "pct": 1}


def plain(v: float) -> str:
    """A number with as few decimals as it needs (at most four): ``45``, ``0.35``, ``1,800,000``."""
    return number(v) if float(v).is_integer() else f"{v:,.4f}".rstrip("0")


def cell(col: Column, value: Any) -> str:
    """One ``<td>``: numbers right-aligned with their raw value in ``data-v`` for sorting."""
    wrap = ' class="wrap"' if col.wrap else ""
    if col.kind == "html":
        return f"<td{wrap}>{value}</td>"
    if col.kind == "htmlnum":
        key, markup = value
        return f'<td class="n" data-v="{"" if key is None else repr(float(key))}">{markup}</td>'
    if not col.numeric:
        return f"<td{wrap}>{esc(value)}</td>"
    v = to_float(value)
    if v is None:
        return '<td class="n" data-v="">—</td>' if value in (None, "") else f'<td class="n" data-v="">{esc(value)}</td>'
    shown = plain(v) if col.kind == "num" else number(v, _DECIMALS[col.kind]) + (" %" if col.kind == "pct" else "")
    return f'<td class="n" data-v="{v!r}">{shown}</td>'


def _th(col: Column, sortable: bool) -> str:
    cls = ' class="n"' if col.numeric else ""
    sort = ' tabindex="0" aria-sort="none"' if sortable else ""
    return f'<th scope="col"{cls}{sort} data-key="{esc(col.key)}">{esc(col.title)}</th>'


PAGE = 1000
"""Rows a long table shows at first; "Show more" adds as many again. Browsers lay out a table
as a whole, so 20,000 visible rows make every sort take seconds; 1,000 take a blink."""


def table(columns: Sequence[Column], rows: Sequence[dict[str, Any]], *, table_id: str = "",
          sortable: bool = True, caption: str = "", page: int = PAGE, compact: bool = False) -> str:
    """A table of ``rows`` (dicts keyed by column key). Sortable tables sort on a header click.

    Past ``page`` rows, the rest are in the page but hidden, behind a "Show more" button (the
    script pages, sorts and filters over every row)."""
    classes = "data" + (" sortable" if sortable else "") + (" compact" if compact else "")
    attrs = f' id="{esc(table_id)}"' if table_id else ""
    paged = len(rows) > page and bool(table_id)
    if paged:
        attrs += f' data-page="{page}"'
    head = "".join(_th(c, sortable) for c in columns)
    body = "\n".join(("<tr hidden>" if paged and k >= page else "<tr>")
                     + "".join(cell(c, r.get(c.key)) for c in columns) + "</tr>" for k, r in enumerate(rows))
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    more = ""
    if paged:
        left = len(rows) - page
        more = (f'<button type="button" class="more" data-table="{esc(table_id)}">Show {number(min(page, left))} '
                f"more ({number(left)} not shown)</button>")
    return (f'<div class="table-wrap"><table class="{classes}"{attrs}>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></div>{more}")


def key_values(items: Sequence[tuple[str, str]]) -> str:
    """A two-column definition table; values are trusted markup (escape them first)."""
    rows = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{v}</td></tr>' for k, v in items)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


# --------------------------------------------------------------------------- charts


def _f(x: float) -> str:
    """A coordinate: one decimal, no ``-0.0``."""
    text = f"{x:.1f}"
    return "0" if text in ("0.0", "-0.0") else text.removesuffix(".0")


def _svg(width: float, height: float, label: str, body: str, chart_id: str) -> str:
    return (f'<svg class="chart" id="{esc(chart_id)}" role="img" '
            f'aria-label="{esc(label)}" width="{_f(width)}" height="{_f(height)}" '
            f'viewBox="0 0 {_f(width)} {_f(height)}"><title>{esc(label)}</title>{body}</svg>')


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, length (in the chart's unit), the text shown after it, a colour."""

    label: str
    value: float
    text: str
    colour: str = BAR
    note: str = ""
    """Extra words for the bar's tooltip."""


def bar_chart(groups: Sequence[tuple[str, Sequence[Bar]]], *, chart_id: str, label: str,
              scale_max: float | None = None, width: float = 980, marker: float | None = None) -> str:
    """Horizontal bars in titled groups. ``scale_max`` fixes the full length (100 for
    percentages, with bars over it drawn to the edge); ``marker`` draws a dashed line at a value."""
    values = [b.value for _, bars in groups for b in bars]
    top = scale_max if scale_max is not None else max([abs(v) for v in values] + [1e-9])
    left, right, row_h, head_h = 180.0, 360.0, 22.0, 24.0
    span = width - left - right
    parts, y = [], 6.0
    for title, bars in groups:
        if not bars:
            continue
        parts.append(f'<text class="ch-group" x="0" y="{_f(y + 15)}">{esc(title)}</text>')
        y += head_h
        for b in bars:
            length = max(0.0, min(b.value, top)) / top * span if top > 0 else 0.0
            tip = f"{b.label}: {b.text}" + (f" — {b.note}" if b.note else "")
            parts.append(
                f'<g class="ch-bar"><title>{esc(tip)}</title>'
                f'<text class="ch-label" x="{_f(left - 8)}" y="{_f(y + 14)}" text-anchor="end">'
                f"{esc(_clip(b.label, 30))}</text>"
                f'<rect x="{_f(left)}" y="{_f(y + 3)}" width="{_f(span)}" height="14" fill="{GRID}" rx="2"/>'
                f'<rect x="{_f(left)}" y="{_f(y + 3)}" width="{_f(length)}" height="14" fill="{b.colour}" rx="2"/>'
                f'<text class="ch-value" x="{_f(left + span + 8)}" y="{_f(y + 14)}">{esc(b.text)}</text></g>'
            )
            y += row_h
        y += 6
    if marker is not None and top > 0:
        x = left + min(marker, top) / top * span
        parts.append(f'<line x1="{_f(x)}" y1="6" x2="{_f(x)}" y2="{_f(y - 6)}" stroke="{INK}" '
                     'stroke-dasharray="3 3" stroke-width="1"/>')
    return _svg(width, y + 4, label, "".join(parts), chart_id)


def donut(slices: Sequence[tuple[str, float, str]], *, chart_id: str, label: str, centre: str,
          centre_note: str = "") -> str:
    """A donut of ``(name, value, colour)`` slices with ``centre`` text in the hole, legend right."""
    size, r, stroke = 220.0, 80.0, 34.0
    cx = cy = size / 2
    total = sum(max(0.0, v) for _, v, _ in slices)
    circ = 2 * math.pi * r
    parts = [f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" fill="none" stroke="{GRID}" '
             f'stroke-width="{_f(stroke)}"/>']
    start = 0.0
    for name, v, colour in slices:
        if v <= 0 or total <= 0:
            continue
        length = v / total * circ
        parts.append(
            f'<circle class="ch-slice" cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" fill="none" stroke="{colour}" '
            f'stroke-width="{_f(stroke)}" stroke-dasharray="{length:.2f} {circ - length:.2f}" '
            f'stroke-dashoffset="{-start:.2f}" transform="rotate(-90 {_f(cx)} {_f(cy)})">'
            f"<title>{esc(name)}: {number(v)} ({percent(100 * v / total)})</title></circle>")
        start += length
    parts.append(f'<text class="ch-centre" x="{_f(cx)}" y="{_f(cy + 4)}" text-anchor="middle">{esc(centre)}</text>')
    if centre_note:
        parts.append(f'<text class="ch-note" x="{_f(cx)}" y="{_f(cy + 24)}" text-anchor="middle">'
                     f"{esc(centre_note)}</text>")
    y = 40.0
    for name, v, colour in slices:
        share = percent(100 * v / total, 0) if total > 0 else "—"
        parts.append(f'<rect x="{_f(size + 20)}" y="{_f(y - 11)}" width="14" height="14" rx="3" fill="{colour}"/>'
                     f'<text class="ch-label" x="{_f(size + 42)}" y="{_f(y)}">{esc(_clip(name, 22))}</text>'
                     f'<text class="ch-value" x="{_f(size + 250)}" y="{_f(y)}" text-anchor="end">'
                     f"{number(v)} · {share}</text>")
        y += 26
    return _svg(size + 270, max(size, y), label, "".join(parts), chart_id)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (1, 2, 2.5 or 5 times a power of ten apart)."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t < hi + step * 0.999:
        ticks.append(round(t, 10))
        t += step
    return ticks


def frontier_chart(x: Sequence[float], value: Sequence[float | None], marginal: Sequence[float | None], *,
                   recommended: int | None, x_label: str, currency: str, chart_id: str) -> str:
    """Value (line, top) and marginal value per step (bars, bottom) against the swept value;
    the recommended point ringed and marked with a dashed line through both panels."""
    width, left, right = 760.0, 80.0, 20.0
    top_y, top_h, gap, bot_h = 30.0, 200.0, 56.0, 120.0
    bot_y = top_y + top_h + gap
    span = width - left - right
    xs = list(map(float, x))
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    pad = (x_hi - x_lo) * 0.04
    x_lo, x_hi = x_lo - pad, x_hi + pad

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * span

    parts: list[str] = []
    vals = [v for v in value if v is not None]
    margs = [m for m in marginal if m is not None]
    y_ticks = nice_ticks(min(vals), max(vals), 4) if vals else [0.0, 1.0]
    m_ticks = nice_ticks(min(margs + [0.0]), max(margs + [0.0]), 3) if margs else [0.0, 1.0]

    def axis(ticks: list[float], y0: float, h: float) -> Any:
        lo, hi = ticks[0], ticks[-1]

        def py(v: float) -> float:
            return y0 + h - (v - lo) / (hi - lo) * h if hi > lo else y0 + h / 2

        for t in ticks:
            parts.append(f'<line x1="{_f(left)}" x2="{_f(width - right)}" y1="{_f(py(t))}" y2="{_f(py(t))}" '
                         f'stroke="{GRID}"/><text class="ch-tick" x="{_f(left - 6)}" y="{_f(py(t) + 4)}" '
                         f'text-anchor="end">{esc(compact(t))}</text>')
        return py

    py_top = axis(y_ticks, top_y, top_h)
    py_bot = axis(m_ticks, bot_y, bot_h)
    if recommended is not None and 0 <= recommended < len(xs):
        rx = px(xs[recommended])
        parts.append(f'<line class="ch-rec" x1="{_f(rx)}" x2="{_f(rx)}" y1="{_f(top_y)}" y2="{_f(bot_y + bot_h)}" '
                     f'stroke="{ACCENT}" stroke-dasharray="4 3"/>')
    steps = [b - a for a, b in zip(xs, xs[1:]) if b > a]
    bar_w = max(2.0, 0.6 * min(steps) / (x_hi - x_lo) * span) if steps else 12.0
    zero = py_bot(0.0)
    for xv, m in zip(xs, marginal):
        if m is None:
            continue
        y1, y2 = sorted((zero, py_bot(m)))
        parts.append(f'<rect class="ch-mbar" x="{_f(px(xv) - bar_w / 2)}" y="{_f(y1)}" width="{_f(bar_w)}" '
                     f'height="{_f(max(0.5, y2 - y1))}" fill="{BAR if m >= 0 else BAD}">'
                     f"<title>{esc(_show(xv))}: {esc(number(m))} {esc(currency)}</title></rect>")
    parts.append(f'<line x1="{_f(left)}" x2="{_f(width - right)}" y1="{_f(zero)}" y2="{_f(zero)}" stroke="{INK}"/>')
    pts = [(px(xv), py_top(v)) for xv, v in zip(xs, value) if v is not None]
    if pts:
        path = " ".join(f"{'M' if k == 0 else 'L'}{_f(a)} {_f(b)}" for k, (a, b) in enumerate(pts))
        parts.append(f'<path d="{path}" fill="none" stroke="{INK}" stroke-width="2"/>')
    for xv, v in zip(xs, value):
        if v is None:  # a point without a plan (infeasible, time limit): marked, never drawn as zero
            parts.append(f'<text class="ch-none" x="{_f(px(xv))}" y="{_f(top_y + top_h - 4)}" text-anchor="middle" '
                         f'fill="{BAD}">×<title>{esc(_show(xv))}: no plan</title></text>')
        else:
            parts.append(f'<circle class="ch-point" cx="{_f(px(xv))}" cy="{_f(py_top(v))}" r="3.5" fill="{INK}">'
                         f"<title>{esc(_show(xv))}: {esc(number(v))} {esc(currency)}</title></circle>")
    if recommended is not None and 0 <= recommended < len(xs) and value[recommended] is not None:
        cx, cy = px(xs[recommended]), py_top(value[recommended])
        parts.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="9" fill="none" stroke="{ACCENT}" stroke-width="2"/>'
                     f'<text class="ch-rec-label" x="{_f(cx + 12)}" y="{_f(cy + 18)}">recommended: '
                     f"{esc(_show(xs[recommended]))}</text>")
    for xv in xs:
        parts.append(f'<text class="ch-tick" x="{_f(px(xv))}" y="{_f(bot_y + bot_h + 16)}" text-anchor="middle">'
                     f"{esc(_show(xv))}</text>")
    parts.append(f'<text class="ch-axis" x="{_f(left - 70)}" y="{_f(top_y - 16)}">expected net value '
                 f"({esc(currency)})</text>")
    parts.append(f'<text class="ch-axis" x="{_f(left - 70)}" y="{_f(bot_y - 16)}">marginal value of each step '
                 f"({esc(currency)})</text>")
    parts.append(f'<text class="ch-axis" x="{_f(left + span / 2)}" y="{_f(bot_y + bot_h + 36)}" '
                 f'text-anchor="middle">{esc(x_label)}</text>')
    return _svg(width, bot_y + bot_h + 44, f"Frontier of {x_label}", "".join(parts), chart_id)


def _show(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.10g}"


# --------------------------------------------------------------------------- style and script

STYLE = """
:root{--ink:#1f3a5f;--text:#1d2630;--muted:#6b7785;--line:#dfe4ea;--bg:#f5f7fa;--card:#fff;
--good:#2f855a;--warn:#b7791f;--bad:#c53030;--accent:#d1495b}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif;font-variant-numeric:tabular-nums}
header.top{background:var(--ink);color:#fff;padding:28px 40px 22px}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:600;letter-spacing:.2px}
header.top p{margin:0;color:#c9d6e6}
nav.toc{background:#fff;border-bottom:1px solid var(--line);padding:8px 40px;position:sticky;top:0;z-index:2;
font-size:13px;white-space:nowrap;overflow-x:auto}
nav.toc a{color:var(--ink);text-decoration:none;margin-right:18px}
nav.toc a:hover{text-decoration:underline}
main{max-width:1320px;margin:0 auto;padding:20px 40px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 24px;margin:0 0 18px}
h2{font-size:18px;margin:0 0 10px;color:var(--ink)}
h3{font-size:14px;margin:16px 0 6px;color:var(--ink);text-transform:uppercase;letter-spacing:.5px}
p.lead{margin:0 0 12px;color:var(--muted)}
.status{border-left:6px solid var(--muted);padding:12px 16px;border-radius:6px;background:#fff;margin:0 0 18px;
border:1px solid var(--line);border-left-width:6px}
.status h2{margin:0 0 4px}
.status.optimal{border-left-color:var(--good)}.status.feasible{border-left-color:var(--warn)}
.status.bad{border-left-color:var(--bad)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;
background:var(--muted);vertical-align:middle}
.badge.optimal{background:var(--good)}.badge.feasible{background:var(--warn)}.badge.bad{background:var(--bad)}
.kpis{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:12px;margin:0 0 18px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.kpi .label{font-size:12px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted)}
.kpi .value{font-size:26px;font-weight:600;color:var(--ink);line-height:1.25;margin:2px 0}
.kpi .unit{font-size:14px;font-weight:400;color:var(--muted);margin-left:4px}
.kpi .sub{font-size:12.5px;color:var(--muted)}
.grid2{display:grid;grid-template-columns:auto minmax(0,1fr);gap:24px;align-items:start}
.nowrap{white-space:nowrap}
.table-wrap{overflow-x:auto;max-width:100%}
table.data{border-collapse:collapse;width:100%;font-size:12.5px}
table.data caption{text-align:left;color:var(--muted);padding:0 0 6px}
table.data th,table.data td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;
white-space:nowrap}
table.data td.wrap{white-space:normal;min-width:180px}
table.data.compact{width:auto}
table.data td.same{font-weight:600;background:#eef5fc}
table.data th{background:#eef2f6;color:var(--ink);font-weight:600;white-space:nowrap;position:sticky;top:0}
table.data td.n,table.data th.n{text-align:right;white-space:nowrap}
table.data tbody tr:nth-child(even){background:#fafbfc}
table.data tbody tr:hover{background:#eef5fc}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:"\\2195";color:#a7b3c1;margin-left:4px;font-size:11px}
table.sortable th[aria-sort=ascending]::after{content:"\\25B2";color:var(--ink)}
table.sortable th[aria-sort=descending]::after{content:"\\25BC";color:var(--ink)}
table.kv{border-collapse:collapse;font-size:13px}
table.kv th{text-align:left;color:var(--muted);font-weight:500;padding:3px 18px 3px 0;vertical-align:top;
white-space:nowrap}
table.kv td{padding:3px 0;word-break:break-all}
code,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono",monospace;font-size:12px}
ul.lines{margin:6px 0 0;padding-left:20px}
.muted{color:var(--muted)}
.tag{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px;background:#eef2f6;color:var(--ink)}
.tag.bind{background:#fde8ea;color:var(--accent)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
svg.chart{display:block;max-width:100%;height:auto;margin:6px 0 10px}
svg.chart text{font-family:inherit;font-size:12px;fill:var(--text)}
svg.chart .ch-group{font-weight:600;fill:var(--ink)}
svg.chart .ch-value,svg.chart .ch-tick,svg.chart .ch-note{fill:var(--muted)}
svg.chart .ch-centre{font-size:30px;font-weight:600;fill:var(--ink)}
svg.chart .ch-axis{font-size:11.5px;fill:var(--muted)}
svg.chart .ch-rec-label{fill:var(--accent);font-weight:600}
svg.chart .ch-none{fill:var(--bad);font-size:14px}
.filter{margin:0 0 8px;padding:5px 9px;border:1px solid var(--line);border-radius:5px;font:inherit;width:280px}
button.more{margin:8px 0 0;padding:5px 12px;border:1px solid var(--line);border-radius:5px;background:#fff;
color:var(--ink);font:inherit;cursor:pointer}
button.more:hover{background:#eef5fc}
details{margin:8px 0}
summary{cursor:pointer;color:var(--ink);font-weight:500}
.who{font-weight:600;color:var(--ink)}
ul.accounts{margin:0;padding-left:16px}
table.data details{margin:0}
footer{color:var(--muted);font-size:12px;text-align:center;padding:0 0 30px}
@media (max-width:900px){.kpis{grid-template-columns:repeat(2,minmax(0,1fr))}}
@media (max-width:800px){main{padding:12px}.grid2{grid-template-columns:1fr}header.top,nav.toc{padding-left:12px}}
@media print{
 body{background:#fff;font-size:11px}
 nav.toc,.filter{display:none}
 button.more{border:0;padding:0;color:var(--muted)}
 header.top{background:#fff;color:var(--ink);border-bottom:2px solid var(--ink);padding:0 0 8px}
 header.top p{color:var(--muted)}
 main{max-width:none;padding:0}
 section,.kpi,.status{border:0;border-radius:0;padding:6px 0;break-inside:avoid-page}
 section{break-inside:auto}
 table.data th{position:static}
 .table-wrap{overflow:visible}
 table.data{font-size:9.5px}
 table.data th,table.data td{white-space:normal;padding:3px 5px}
 table.data td.wrap{min-width:0}
 table.data tr{break-inside:avoid}
 table.sortable th::after{content:""}
 a{color:inherit;text-decoration:none}
}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  var states = {};

  function state(table) {
    var st = states[table.id];
    if (!st) {
      var page = parseInt(table.getAttribute("data-page") || "0", 10) || 0;
      st = states[table.id] = {page: page, limit: page || Infinity, words: [], count: null};
    }
    return st;
  }

  function format(n) { return n.toLocaleString("en-US"); }

  /* Show the rows that match the filter, at most `limit` of them. */
  function paint(table, body) {
    var st = state(table), matches = 0, rows = body.rows;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], ok = true;
      if (st.words.length) {
        var text = row.textContent.toLowerCase();
        for (var w = 0; w < st.words.length && ok; w++) { ok = text.indexOf(st.words[w]) !== -1; }
      }
      if (ok) { matches++; }
      var hide = !(ok && matches <= st.limit);
      if (row.hidden !== hide) { row.hidden = hide; }
    }
    if (st.count) { st.count.textContent = format(matches); }
    var more = document.querySelector('button.more[data-table="' + table.id + '"]');
    if (more) {
      var left = matches - Math.min(matches, st.limit);
      more.hidden = left <= 0;
      more.textContent = "Show " + format(Math.min(st.page, left)) + " more (" + format(left) + " not shown)";
    }
  }

  /* Reorder the rows away from the page (moving thousands of rows in place is slow); show
     or hide rows in place (only the rows that change are laid out again). */
  function update(table, reorder) {
    var body = table.tBodies[0];
    if (!reorder) { paint(table, body); return; }
    table.removeChild(body);
    var next = reorder(body);
    paint(table, next);
    table.appendChild(next);
  }

  function sortTable(table, th) {
    var col = th.cellIndex;
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var numeric = th.classList.contains("n");
    update(table, function (body) {
      var rows = Array.prototype.slice.call(body.rows);
      var keyed = rows.map(function (row, i) {
        var c = row.cells[col], k = c ? c.getAttribute("data-v") : null;
        if (k === null) { k = c ? c.textContent.trim() : ""; }
        if (numeric) { k = k === "" ? null : parseFloat(k); if (k !== null && isNaN(k)) { k = null; } }
        else if (k === "" || k === "\u2014") { k = null; }
        return {k: k, i: i, row: row};
      });
      keyed.sort(function (a, b) {
        if (a.k === null || b.k === null) { return a.k === b.k ? a.i - b.i : (a.k === null ? 1 : -1); }
        var c = numeric ? (a.k < b.k ? -1 : a.k > b.k ? 1 : 0) : collator.compare(a.k, b.k);
        return c !== 0 ? dir * c : a.i - b.i;
      });
      var next = document.createElement("tbody");
      for (var j = 0; j < keyed.length; j++) { next.appendChild(keyed[j].row); }
      return next;
    });
    var ths = th.parentNode.cells;
    for (var h = 0; h < ths.length; h++) { ths[h].setAttribute("aria-sort", "none"); }
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var ths = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(ths, function (th) {
      th.addEventListener("click", function () { sortTable(table, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, th); }
      });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("button.more"), function (button) {
    var table = document.getElementById(button.getAttribute("data-table"));
    button.addEventListener("click", function () {
      var st = state(table);
      st.limit += st.page;
      update(table, null);
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("input.filter"), function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    var st = state(table);
    st.count = document.getElementById(input.getAttribute("data-count"));
    input.addEventListener("input", function () {
      st.words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      st.limit = st.page || Infinity;
      update(table, null);
    });
  });

  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
})();
"""
