"""The frontier chart: value and marginal value against the swept value, as PNG and SVG.

Drawn on a bare matplotlib ``Figure`` (Agg for the PNG, no screen needed, and no pyplot:
the process's backend and a notebook's open figures are left alone), imported only when
a chart is made. The bytes are deterministic: no dates or software stamps in the files,
and a fixed salt for the SVG's element ids, so the same frontier gives the same files.
"""

from __future__ import annotations

import io
from typing import Sequence

INK = "#1f3a5f"
ACCENT = "#d1495b"
BARS = "#8fb8de"


def warm() -> None:
    """Import what the chart needs now (~0.7 s): a sweep calls this in a thread while its
    workers solve, so the chart at the end does not wait for the import."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.ticker  # noqa: F401


def frontier_chart(
    x: Sequence[float],
    value: Sequence[float | None],
    marginal: Sequence[float | None],
    *,
    recommended: int | None,
    x_label: str,
    currency: str = "",
    rule: str = "",
) -> tuple[bytes, bytes]:
    """(PNG bytes, SVG bytes) of the two-panel chart: value on top, marginal value below."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    with matplotlib.rc_context({"svg.hashsalt": "kamopt", "svg.fonttype": "path", "font.size": 9}):
        fig = Figure(figsize=(8, 6), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        money = FuncFormatter(lambda v, _: _short_money(v))
        pts = [(a, b) for a, b in zip(x, value) if b is not None]
        if pts:
            top.plot([p[0] for p in pts], [p[1] for p in pts], color=INK, marker="o", markersize=4, linewidth=1.8,
                     label="expected net value")
        if recommended is not None and value[recommended] is not None:
            top.scatter([x[recommended]], [value[recommended]], s=140, facecolors="none", edgecolors=ACCENT,
                        linewidths=2, zorder=3, label=f"recommended ({rule})")
            top.annotate(f"{_short_money(value[recommended])} at {x[recommended]:g}",
                         (x[recommended], value[recommended]), textcoords="offset points", xytext=(8, -14),
                         color=ACCENT)
            for ax in (top, bottom):
                ax.axvline(x[recommended], color=ACCENT, linewidth=0.8, linestyle="--")
        top.set_ylabel(f"objective ({currency})" if currency else "objective")
        top.yaxis.set_major_formatter(money)
        top.set_title("Frontier: value of the plan as the swept value grows", loc="left")
        top.legend(loc="lower right", frameon=False)
        top.grid(alpha=0.3)
        bars = [(a, b) for a, b in zip(x, marginal) if b is not None]
        width = _bar_width(x)
        if bars:
            bottom.bar([b[0] for b in bars], [b[1] for b in bars], width=width, color=BARS, edgecolor=INK,
                       linewidth=0.5)
        bottom.axhline(0, color=INK, linewidth=0.8)
        bottom.set_ylabel("marginal value per step")
        bottom.yaxis.set_major_formatter(money)
        bottom.set_xlabel(x_label)
        bottom.grid(alpha=0.3)
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=110, metadata={"Software": None})
        # The layout is settled now; laying it out again for the SVG would cost a third of
        # the chart's time for the same positions (they are fractions of the figure).
        fig.set_layout_engine("none")
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return png.getvalue(), svg.getvalue()


def _bar_width(x: Sequence[float]) -> float:
    steps = [b - a for a, b in zip(x, x[1:]) if b > a]
    return 0.6 * min(steps) if steps else 0.6


def _short_money(v: float) -> str:
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.2f} bn"
    if a >= 1e6:
        return f"{v / 1e6:.2f} M"
    if a >= 1e4:
        return f"{v / 1e3:.0f} k"
    return f"{v:,.0f}"
