"""The dashboard's health section: a tile per band (customers and ARR; red ARR is revenue at
risk), the ARR by band and the weekly band counts over 90 days as inline SVG, and the bands
per stage as a table (no script, nothing fetched)."""

from html import escape

from clm.render.output import visible

BAND_COLOURS = {"red": "#c0392b", "amber": "#d4ac0d", "green": "#1e8449", "unscored": "#bdc3c7"}
WIDTH, ROW, LABEL, HEIGHT = 640, 24, 110, 160


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _arr_by_band(bands: list[dict]) -> str:
    most = max((row["arr"] for row in bands), default=0)
    height = ROW * len(bands) + 10
    parts = [
        f'<svg class="revenue" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" role="img" '
        'xmlns="http://www.w3.org/2000/svg" aria-label="ARR by health band">'
    ]
    for i, row in enumerate(bands):
        y = 5 + i * ROW
        width = 0 if not most else round((WIDTH - LABEL - 130) * row["arr"] / most)
        parts += [
            f'<text x="4" y="{y + 16}" font-size="13">{escape(row["band"])}</text>',
            f'<rect x="{LABEL}" y="{y + 4}" width="{width}" height="{ROW - 8}" '
            f'fill="{BAND_COLOURS[row["band"]]}"/>',
            f'<text x="{LABEL + width + 6}" y="{y + 16}" font-size="12">{_money(row["arr"])}'
            f" ({row['customers']:,})</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def _trend(rows: list[dict]) -> str:
    """The customers per band each week as stacked columns, red at the bottom."""
    bands = list(BAND_COLOURS)
    most = max((sum(row[band] for band in bands) for row in rows), default=0)
    step = (WIDTH - 20) / max(1, len(rows))
    parts = [
        f'<svg class="revenue" viewBox="0 0 {WIDTH} {HEIGHT + 24}" width="{WIDTH}" role="img" '
        'xmlns="http://www.w3.org/2000/svg" aria-label="Customers per health band, weekly">'
    ]
    for i, row in enumerate(rows):
        x, bottom = 10 + i * step, HEIGHT
        for band in bands:
            tall = 0 if not most else HEIGHT * 0.9 * row[band] / most
            if tall:
                parts.append(
                    f'<rect x="{x + 2:.1f}" y="{bottom - tall:.1f}" width="{step - 4:.1f}" '
                    f'height="{tall:.1f}" fill="{BAND_COLOURS[band]}"><title>{row["on"]}: '
                    f"{row[band]:,} {band}</title></rect>"
                )
            bottom -= tall
        if i % 2 == 0 or i == len(rows) - 1:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{HEIGHT + 16}" font-size="10" '
                f'text-anchor="middle">{str(row["on"])[5:]}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _by_stage(rows: list[dict]) -> str:
    keys = ("stage", "customers", "red", "amber", "green", "unscored", "arr", "red_arr")
    head = "".join(f"<th>{escape(key.replace('_', ' '))}</th>" for key in keys)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(visible(str(row[key])))}</td>"
            if key == "stage"
            else f"<td class=n>{row[key]:,}</td>"
            for key in keys
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def health_section(health: dict) -> str:
    """The section's HTML: tiles, the two charts, the table per stage."""
    tiles = "".join(
        f'<div class=card><span style="color:{BAND_COLOURS[row["band"]]}">■</span> '
        f"{escape(row['band'].capitalize())}<b>{row['customers']:,}</b>ARR {_money(row['arr'])}"
        "</div>"
        for row in health["bands"]
    )
    legend = "".join(
        f'<span><i class="swatch" style="background:{colour}"></i>{band}</span>'
        for band, colour in BAND_COLOURS.items()
    )
    return "\n".join(
        [
            '<h2 id="health">Health</h2>',
            f'<div class="cards">{tiles}</div>',
            "<h3>ARR by band (red: revenue at risk)</h3>",
            _arr_by_band(health["bands"]),
            "<h3>Customers per band, week by week over 90 days</h3>",
            _trend(health["trend"]),
            f'<p class="legend">{legend}</p>',
            "<h3>Bands by stage</h3>",
            _by_stage(health["stages"]),
        ]
    )
