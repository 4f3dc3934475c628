"""The dashboard: every report and the lifecycle drawn on one self-contained HTML page (inline
CSS and SVG; no script, font or image fetched from anywhere), to send to a team or put on a
wiki."""

from collections.abc import Iterable, Sequence
from datetime import date
from html import escape
from itertools import pairwise

from clm.render.output import visible

TEAM_COLOURS = ("#2f7ed8", "#8e44ad", "#16a085", "#d35400", "#c0392b", "#7f8c8d", "#2c3e50")
DIRECTION_COLOURS = {"forward": "#1e8449", "backward": "#b7950b", "churn": "#c0392b",
                     "other": "#7f8c8d"}  # fmt: skip
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c2833;
       margin: 0 auto; max-width: 1300px; padding: 24px; background: #fbfcfc; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; }
.sub { color: #5d6d7e; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #d5dbdb; border-radius: 8px; padding: 10px 16px;
        min-width: 150px; }
.card b { display: block; font-size: 22px; }
table { border-collapse: collapse; background: #fff; margin: 4px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eaeded; text-align: left;
         white-space: nowrap; }
th { background: #f2f4f4; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.bar { height: 12px; background: #5dade2; border-radius: 2px; }
.bar.green { background: #58d68d; }
.over { color: #c0392b; font-weight: 600; } .ok { color: #1e8449; }
.muted { color: #7f8c8d; }
h3 { font-size: 15px; margin: 16px 0 6px; }
svg.revenue { max-width: 100%; height: auto; background: #fff; border: 1px solid #d5dbdb;
              border-radius: 8px; }
svg.lifecycle { width: 100%; height: auto; background: #fff; border: 1px solid #d5dbdb;
                border-radius: 8px; }
.legend span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
          vertical-align: middle; margin-right: 4px; }
"""


def _text(value) -> str:
    """A value as page text: user text escaped (never markup), numbers with separators."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, date):
        return value.isoformat()
    return escape(visible(str(value)))


def _table(headers: Sequence[str], rows: Iterable[Sequence], numeric: set[int] = frozenset()):
    """An HTML table; cells are already HTML; `numeric` columns align right."""
    head = "".join(f'<th{" class=n" if i in numeric else ""}>{escape(h)}</th>'
                   for i, h in enumerate(headers))  # fmt: skip
    body = "".join(
        "<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{cell}</td>'
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bar(value: float, largest: float, css: str = "") -> str:
    width = 0 if not largest else round(240 * value / largest)
    return f'<div class="bar {css}" style="width:{width}px"></div>'


def _team_colours(lifecycle: list[dict]) -> dict[str | None, str]:
    teams = sorted({stage["team"] for stage in lifecycle if stage["team"]})
    colours = {team: TEAM_COLOURS[i % len(TEAM_COLOURS)] for i, team in enumerate(teams)}
    return colours | {None: "#95a5a6"}


def lifecycle_svg(lifecycle: list[dict], counts: dict[str, dict]) -> str:
    """The stages left to right, wrapping every five: name, team, customers, ARR and SLA, the
    box coloured by its team, arrows from each stage to the next."""
    colours = _team_colours(lifecycle)
    per_row, box_w, box_h, gap_x, gap_y = 5, 236, 112, 40, 40
    rows = max(1, -(-len(lifecycle) // per_row))
    width = per_row * box_w + (per_row - 1) * gap_x + 40
    height = rows * box_h + (rows - 1) * gap_y + 40
    parts = [
        f'<svg class="lifecycle" viewBox="0 0 {width} {height}" role="img" '
        'xmlns="http://www.w3.org/2000/svg" aria-label="The lifecycle: stages and teams">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5d6d7e"/></marker>'
        "</defs>",
    ]
    places = []
    for i, stage in enumerate(lifecycle):
        row, col = divmod(i, per_row)
        x, y = 20 + col * (box_w + gap_x), 20 + row * (box_h + gap_y)
        places.append((x, y))
        colour = colours[stage["team"]]
        count = counts.get(stage["key"], {"customers": 0, "arr": 0})
        sla = f"SLA {stage['expected_days']} days" if stage["expected_days"] else "no SLA"
        team = stage["team"] or ("terminal" if stage["terminal"] else "no team")
        dash = ' stroke-dasharray="6 4"' if stage["terminal"] else ""
        parts += [
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="10" fill="#fff" '
            f'stroke="{colour}" stroke-width="2.5"{dash}/>',
            f'<rect x="{x}" y="{y}" width="{box_w}" height="26" rx="10" fill="{colour}"/>',
            f'<rect x="{x}" y="{y + 16}" width="{box_w}" height="10" fill="{colour}"/>',
            f'<text x="{x + 10}" y="{y + 18}" font-size="14" font-weight="bold" fill="#fff">'
            f"{i + 1}. {_text(stage['name'])}</text>",
            f'<text x="{x + 10}" y="{y + 46}" font-size="13" fill="{colour}" '
            f'font-weight="600">{_text(team)}</text>',
            f'<text x="{x + 10}" y="{y + 68}" font-size="13" fill="#1c2833">'
            f"{_text(count['customers'])} customer{'' if count['customers'] == 1 else 's'}"
            f" · {'lost ' if stage['terminal'] else ''}ARR {_text(count['arr'])}</text>",
            f'<text x="{x + 10}" y="{y + 90}" font-size="12" fill="#5d6d7e">'
            f"{_text(stage['key'])} · {sla}</text>",
        ]
    for (x1, y1), (x2, y2) in pairwise(places):
        if y1 == y2:
            parts.append(f'<line x1="{x1 + box_w}" y1="{y1 + box_h / 2}" x2="{x2 - 2}" '
                         f'y2="{y2 + box_h / 2}" stroke="#5d6d7e" stroke-width="2" '
                         'marker-end="url(#arrow)"/>')  # fmt: skip
        else:  # to the start of the next row
            parts.append(f'<path d="M{x1 + box_w / 2},{y1 + box_h} L{x1 + box_w / 2},'
                         f'{y1 + box_h + gap_y / 2} L{x2 + box_w / 2},{y1 + box_h + gap_y / 2} '
                         f'L{x2 + box_w / 2},{y2 - 2}" fill="none" stroke="#5d6d7e" '
                         'stroke-width="2" marker-end="url(#arrow)"/>')  # fmt: skip
    parts.append("</svg>")
    legend = "".join(
        f'<span><i class="swatch" style="background:{colour}"></i>{_text(team)}</span>'
        for team, colour in colours.items()
        if team
    )
    return "".join(parts) + f'<p class="legend">Teams: {legend}</p>'


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def _more(shown: int, total: int, what: str) -> str:
    return f'<p class="muted">{shown:,} of {total:,} {what} shown.</p>' if total > shown else ""


def render(data: dict) -> str:
    """The whole page."""
    since = f" since {data['since']}" if data["since"] else ""
    counts = {row["stage"]: row for row in data["stages"]}
    from clm.domain.reports import book_totals

    totals = book_totals(data["stages"])
    total, arr = totals["customers"], totals["arr"]
    at_stake_count, at_stake = data["renewals_at_stake"]
    overdue_total = sum(n for _, n in data["overdue_by_owner"])
    team_of = {stage["key"]: stage["team"] for stage in data["lifecycle"]}
    body = [
        "<h1>Customer lifecycle dashboard</h1>",
        f'<p class="sub">Book of business on {data["today"]}; moves{since or " of all time"}.</p>',
        '<div class="cards">',
        f"<div class=card>Customers<b>{_text(total)}</b></div>",
        f"<div class=card>ARR<b>{_text(arr)}</b></div>",
        f"<div class=card>Churned<b>{_text(totals['churned'])}</b>"
        f"lost ARR {_text(totals['lost_arr'])}</div>",
        f"<div class=card>Renewals in 90 days<b>{_text(at_stake_count)}</b>"
        f"ARR at stake {_text(at_stake)}</div>",
        f"<div class=card>Overdue items<b>{_text(overdue_total)}</b></div>",
        f"<div class=card>Handoffs{since}<b>{_text(data['handoff_count'])}</b></div>",
        "</div>",
        '<h2 id="lifecycle">The lifecycle</h2>',
        lifecycle_svg(data["lifecycle"], counts),
        _rules(data["rules"]),
        '<h2 id="stages">Customers per stage</h2>',
        _stages(data["stages"], team_of),
        f'<h2 id="funnel">Funnel{since}</h2>',
        _funnel(data["funnel"]),
        '<h2 id="time-in-stage">Time in stage (days)</h2>',
        _time(data["time_in_stage"], data["over_sla"]),
        '<h2 id="renewals">Renewals lapsed or due in the next 90 days</h2>',
        _renewals(data["renewals"], at_stake_count, at_stake),
        '<h2 id="overdue">Overdue milestones, tasks and CTAs</h2>',
        _overdue(data["overdue"], data["overdue_by_owner"], overdue_total),
        f'<h2 id="handoffs">Handoffs between teams{since}</h2>',
        _handoffs(data["handoffs"], data["handoff_count"]),
        f'<h2 id="flows">Flows between stages{since}</h2>',
        _flows(data["flows"], [stage["key"] for stage in data["lifecycle"]]),
    ]
    if "revenue" in data:
        from clm.render.revenue_svg import revenue_section

        body.insert(body.index('<h2 id="lifecycle">The lifecycle</h2>'),
                    revenue_section(data["revenue"]))  # fmt: skip
    if "health" in data:
        from clm.render.health_svg import health_section

        body.insert(body.index('<h2 id="lifecycle">The lifecycle</h2>'),
                    health_section(data["health"]))  # fmt: skip
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>clm dashboard {data['today']}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _rules(arrows: list[dict]) -> str:
    if not arrows:
        return ""
    items = "".join(
        f"<li>{_text(a['from'])} → {_text(a['to'] or '(stays)')}: <b>{_text(a['rule'])}</b> "
        f"when {_text(' and '.join(a['when']))}"
        + (f", opens CTA {_text(a['cta'])}" if a["cta"] else "")
        + ("" if a["enabled"] else ' <span class="muted">(disabled)</span>')
        + "</li>"
        for a in arrows
    )
    return f"<details open><summary>Rules that move customers</summary><ul>{items}</ul></details>"


def _cells(row: dict, keys: Sequence[str]) -> list[str]:
    return [_text(row[key]) for key in keys]


def _stages(rows: list[dict], team_of: dict) -> str:
    most = max((row["customers"] for row in rows), default=0)
    lines = (
        [_text(r["stage"]), _text(team_of.get(r["stage"])), _text(r["customers"]),
         ("lost " if r.get("terminal") else "") + _text(r["arr"]), _bar(r["customers"], most)]
        for r in rows
    )  # fmt: skip
    return _table(("stage", "team", "customers", "ARR", ""), lines, {2, 3})


def _funnel(rows: list[dict]) -> str:
    lines = (
        [*_cells(r, ("stage", "entered", "moved_on")), _pct(r["conversion"]),
         _text(r["median_days"]), _bar(r["moved_on"], r["entered"], "green")]
        for r in rows
    )  # fmt: skip
    headers = ("stage", "entered", "moved on", "conversion", "median days", "")
    return _table(headers, lines, {1, 2, 3, 4})


def _sla_mark(row: dict) -> str:
    expected, median = row["expected_days"], row["median_days"]
    if not expected or median is None:
        return ""
    if median > expected:
        return '<span class="over">median over SLA</span>'
    return '<span class="ok">median within SLA</span>'


TIME = ("stage", "customers", "median_days", "p90_days", "expected_days", "over")
OVER = ("customer", "stage", "owner", "days_in_stage", "expected_days", "days_over")


def _time(rows: list[dict], over: list[dict]) -> str:
    headers = ("stage", "customers", "median days", "p90 days", "SLA days", "over SLA", "")
    lines = ([*_cells(r, TIME), _sla_mark(r)] for r in rows)
    html = _table(headers, lines, {1, 2, 3, 4, 5})
    if over:
        headers = ("customer", "stage", "owner", "days in stage", "SLA days", "days over")
        html += "<p>Customers over their stage's SLA, longest first:</p>"
        html += _table(headers, (_cells(r, OVER) for r in over), {3, 4, 5})
        html += _more(len(over), sum(r["over"] for r in rows), "customers over their SLA")
    return html


RENEWALS = ("renewal", "days_left", "name", "stage", "owner", "health", "arr")


def _renewals(rows: list[dict], count: int, arr: float) -> str:
    if not rows:
        return "<p>No renewals.</p>"
    headers = ("renewal", "days left", "customer", "stage", "owner", "health", "ARR")
    listing = _table(headers, (_cells(r, RENEWALS) for r in rows), {1, 5, 6})
    total = f"<p><b>{_text(count)} renewals, ARR at stake {_text(arr)}</b></p>"
    return listing + total + _more(len(rows), count, "renewals")


OVERDUE = ("owner", "kind", "customer", "title", "due", "days_overdue")


def _overdue(rows: list[dict], by_owner: list, total: int) -> str:
    if not rows:
        return "<p>Nothing overdue.</p>"
    per_owner = ([_text(owner or "(nobody)"), _text(n)] for owner, n in by_owner)
    owners = _table(("owner", "overdue"), per_owner, {1})
    headers = ("owner", "kind", "customer", "title", "due", "days overdue")
    oldest = _table(headers, (_cells(r, OVERDUE) for r in rows), {5})
    return owners + "<p>The oldest:</p>" + oldest + _more(len(rows), total, "overdue items")


HANDOFFS = ("on", "customer", "from_stage", "to_stage", "from_team", "to_team", "from_owner",
            "to_owner")  # fmt: skip


def _handoffs(rows: list[dict], count: int) -> str:
    if not rows:
        return "<p>No handoffs.</p>"
    headers = [key.replace("_", " ") for key in HANDOFFS]
    listing = _table(headers, (_cells(r, HANDOFFS) for r in rows))
    return listing + _more(len(rows), count, "handoffs (the latest)")


def _flows(rows: list[dict], stage_keys: list[str]) -> str:
    if not rows:
        return "<p>No moves.</p>"
    named = {r["from_stage"] for r in rows} | {r["to_stage"] for r in rows}
    keys = [key for key in stage_keys if key in named] + sorted(named - set(stage_keys))
    cells = {(r["from_stage"], r["to_stage"]): r for r in rows}

    def cell(source: str, target: str) -> str:
        found = cells.get((source, target))
        if found is None:
            return '<span class="muted">·</span>'
        colour = DIRECTION_COLOURS[found["direction"]]
        return f'<b style="color:{colour}">{_text(found["moves"])}</b>'

    matrix = _table(
        ("from \\ to", *keys),
        ([_text(source), *(cell(source, target) for target in keys)] for source in keys),
        set(range(1, len(keys) + 1)),
    )
    legend = "".join(
        f'<span><i class="swatch" style="background:{colour}"></i>{way}</span>'
        for way, colour in DIRECTION_COLOURS.items()
        if way != "other"
    )
    return matrix + f'<p class="legend">{legend}</p>'
