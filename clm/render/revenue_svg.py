"""The dashboard's revenue section: GRR and NRR tiles, churned ARR by reason and the renewal
forecast, drawn as inline SVG (no script, nothing fetched)."""

from html import escape

from clm.render.output import visible

FORECAST_COLOURS = {"commit": "#1e8449", "likely": "#5dade2", "at-risk": "#d4ac0d",
                    "lost": "#c0392b"}  # fmt: skip
CHURN_COLOUR = "#c0392b"
WIDTH, ROW, LABEL = 640, 24, 150


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}%"


def _label(text: str) -> str:
    return escape(visible(str(text)))


def revenue_section(revenue: dict) -> str:
    """The section's HTML: tiles, then the two charts."""
    retention = revenue["retention"]
    total_churn = sum(row["arr"] for row in revenue["churn"])
    tiles = [
        ("GRR", _pct(retention["grr"])),
        ("NRR", _pct(retention["nrr"])),
        ("Starting ARR", _money(retention["starting_arr"])),
        ("Churned ARR", _money(retention["churned_arr"])),
        ("New ARR", _money(retention["new_arr"])),
        ("Revenue at risk", _money(revenue["at_risk"])),
    ]
    cards = "".join(f"<div class=card>{name}<b>{value}</b></div>" for name, value in tiles)
    return "\n".join(
        [
            f'<h2 id="revenue">Revenue since {revenue["since"]}</h2>',
            '<div class="cards">' + cards + "</div>",
            f"<h3>Churned ARR by reason ({_money(total_churn)})</h3>",
            churn_svg(revenue["churn"]),
            "<h3>Renewal forecast: ARR renewing per quarter</h3>",
            forecast_svg(revenue["forecast"]),
        ]
    )


def churn_svg(rows: list[dict]) -> str:
    """A bar per churn reason, as long as its lost ARR."""
    if not rows:
        return '<p class="muted">No customer churned in the period.</p>'
    most = max(row["arr"] for row in rows) or 1
    height = ROW * len(rows) + 8
    bars = []
    for i, row in enumerate(rows):
        y = 4 + i * ROW
        width = round((WIDTH - LABEL - 120) * row["arr"] / most)
        bars.append(
            f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end">{_label(row["value"])}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{width}" height="{ROW - 8}" '
            f'fill="{CHURN_COLOUR}" rx="2"/>'
            f'<text x="{LABEL + width + 6}" y="{y + 15}">{_money(row["arr"])} '
            f"({row['customers']:,})</text>"
        )
    return (
        f'<svg class="revenue" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" font-size="12" '
        f'font-family="system-ui, sans-serif" role="img" aria-label="Churned ARR by reason">'
        + "".join(bars)
        + "</svg>"
    )


def forecast_svg(totals: list[dict]) -> str:
    """A stacked bar per quarter: its renewing ARR by forecast category, with a legend."""
    quarters: dict[str, list[dict]] = {}
    for row in totals:
        quarters.setdefault(row["period"], []).append(row)
    most = max((sum(r["arr"] for r in rows) for rows in quarters.values()), default=0) or 1
    height = ROW * len(quarters) + 30
    parts = []
    for i, (quarter, rows) in enumerate(quarters.items()):
        y, x = 4 + i * ROW, LABEL
        parts.append(f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end">{quarter}</text>')
        for row in rows:
            width = round((WIDTH - LABEL - 120) * row["arr"] / most)
            if width:
                parts.append(
                    f'<rect x="{x}" y="{y + 3}" width="{width}" height="{ROW - 8}" '
                    f'fill="{FORECAST_COLOURS[row["forecast"]]}"><title>{row["forecast"]}: '
                    f"{_money(row['arr'])}</title></rect>"
                )
            x += width
        total = sum(row["arr"] for row in rows)
        parts.append(f'<text x="{x + 6}" y="{y + 15}">{_money(total)}</text>')
    legend_y = height - 8
    for i, (name, colour) in enumerate(FORECAST_COLOURS.items()):
        x = LABEL + i * 100
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{legend_y}">{name}</text>'
        )
    return (
        f'<svg class="revenue" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" font-size="12" '
        f'font-family="system-ui, sans-serif" role="img" aria-label="Renewal forecast">'
        + "".join(parts)
        + "</svg>"
    )
