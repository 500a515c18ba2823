"""Server-side SVG charts for the dashboard: no JavaScript, no CDN, readable without network.

Every data point is an element with `class="point"` and `data-series` / `data-label` /
`data-value` attributes and a <title> tooltip, so a browser test (or a screen reader) can
find the numbers. All text is escaped.

    stacked_bars(labels, series, title)              calls per hour / per day by outcome
    bars(labels, values, title, shaded=None)         queue by hour (shaded working time),
                                                     attempts distribution, funnel
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 760, 220
_LEFT, _BOTTOM, _TOP, _RIGHT = 44, 34, 12, 8
# Colour-blind-safe palette (Okabe-Ito), repeated if there are more series.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000", "#999999")  # fmt: skip


def _axis(maximum: int, title: str) -> list[str]:
    plot_h = HEIGHT - _TOP - _BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - _RIGHT}" y2="{_TOP + plot_h}" '
        'stroke="#555"/>',
    ]
    for fraction in (0.5, 1.0):
        y = _TOP + plot_h * (1 - fraction)
        parts.append(
            f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">'
            f"{round(maximum * fraction)}</text>"
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
        )
    return parts


def _label_every(count: int) -> int:
    return max(1, -(-count // 16))


def _x_labels(labels: Sequence[str], slot: float) -> list[str]:
    every = _label_every(len(labels))
    return [
        f'<text x="{_LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - _BOTTOM + 14}" '
        f'text-anchor="middle" font-size="10">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def stacked_bars(labels: Sequence[str], series: Mapping[str, Sequence[int]], title: str) -> Markup:
    """One bar per label, stacked by series (an outcome each), with a legend."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    maximum = max(totals, default=0) or 1
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / max(len(labels), 1)
    parts = _axis(maximum, title)
    for i, label in enumerate(labels):
        y = _TOP + plot_h
        for index, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / maximum
            y -= h
            parts.append(
                f'<rect class="point" data-series="{escape(name)}" data-label="{escape(label)}" '
                f'data-value="{value}" x="{_LEFT + slot * i + 1:.1f}" y="{y:.1f}" '
                f'width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(label)} '
                f"{escape(name)}: {value}</title></rect>"
            )
    parts += _x_labels(labels, slot)
    x = _LEFT
    for index, name in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 12}" width="9" height="9" '
            f'fill="{PALETTE[index % len(PALETTE)]}"/>'
            f'<text x="{x + 12}" y="{HEIGHT - 4}" font-size="10">{escape(name)}</text>'
        )
        x += 14 + 7 * len(name) + 10
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above went through escape()


def bars(
    labels: Sequence[str],
    values: Sequence[int],
    title: str,
    shaded: Sequence[bool] | None = None,
) -> Markup:
    """One bar per label; `shaded[i]` draws a band behind bar i (working time)."""
    maximum = max(values, default=0) or 1
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / max(len(labels), 1)
    parts = _axis(maximum, title)
    for i, on in enumerate(shaded or ()):
        if on:
            parts.append(
                f'<rect class="shade" x="{_LEFT + slot * i:.1f}" y="{_TOP}" '
                f'width="{slot:.1f}" height="{plot_h}" fill="#e6f2e6"/>'
            )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / maximum
        parts.append(
            f'<rect class="point" data-series="{escape(title)}" data-label="{escape(label)}" '
            f'data-value="{value}" x="{_LEFT + slot * i + 1:.1f}" y="{_TOP + plot_h - h:.1f}" '
            f'width="{max(slot - 2, 1):.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
    parts += _x_labels(labels, slot)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above went through escape()
