"""Server-rendered SVG bar charts: no JavaScript, readable without styles."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from markupsafe import Markup, escape

from twores.services.numbers import percent

BAR = 22
GAP = 6
LABEL = 150
PLOT = 360


def bar_chart(
    title: str, labels: Sequence[str], rates: Sequence[float | None], *, chart_id: str = ""
) -> Markup:
    """Horizontal bars of rates in [0, 1] (None: no data), one per label."""
    return _chart(title, tuple(labels), tuple(rates), chart_id)


@functools.lru_cache(maxsize=1024)  # a pure function of its inputs: the same SVG again
def _chart(
    title: str, labels: tuple[str, ...], rates: tuple[float | None, ...], chart_id: str
) -> Markup:
    height = 28 + len(labels) * (BAR + GAP)
    width = LABEL + PLOT + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" id="{escape(chart_id)}"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' style="max-width:100%;height:auto">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, rate) in enumerate(zip(labels, rates, strict=True)):
        y = 28 + i * (BAR + GAP)
        text = percent(rate)
        length = 0 if rate is None else round(PLOT * max(0.0, min(rate, 1.0)))
        parts += [
            f'<text x="{LABEL - 6}" y="{y + 16}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(_fitted(label))}</text>",
            f'<rect x="{LABEL}" y="{y}" width="{PLOT}" height="{BAR}" fill="#eef2f7"/>',
            f'<rect x="{LABEL}" y="{y}" width="{length}" height="{BAR}" fill="#c0392b"'
            f' data-rate="{text}"/>',
            f'<text x="{LABEL + PLOT + 6}" y="{y + 16}">{text}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


#: Han characters that fit before the bars (about 14 px each).
_LABEL_CHARS = (LABEL - 6) // 14


def _fitted(label: str) -> str:
    """``label`` cut to fit the space before the bars (the whole name shows on hover)."""
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"
