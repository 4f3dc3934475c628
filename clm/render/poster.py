"""The lifecycle poster: the map of the lifecycle drawn as an SVG to print at A3 and put on a
wall (stage boxes coloured by team, the rules' arrows above them, the moves made by hand below,
a band per team with its role at each stage, a legend), and an HTML page that holds it with a
print stylesheet. Written by hand, deterministic: the same model draws the same bytes."""

from dataclasses import dataclass, field
from datetime import date
from html import escape

from clm.domain.lifecycle_map import COLLABORATES, HANDS_OFF, OWNS, RECEIVES, LifecycleMap, Move
from clm.plain import visible

# Team colours: a strong one (borders, names, arrows' team) and a pale one (box fills).
TEAM_COLOURS = (
    ("#1f618d", "#d6eaf8"),
    ("#7d3c98", "#ebdef0"),
    ("#117a65", "#d0ece7"),
    ("#b9770e", "#fdebd0"),
    ("#a93226", "#f5d5d1"),
    ("#2e4053", "#d5d8dc"),
    ("#6e2c00", "#edbb99"),
    ("#196f3d", "#d4efdf"),
)
NO_TEAM = ("#707b7c", "#eaeded")
RULE_INK, HAND_INK, MUTED, INK = "#1c2833", "#a04000", "#808b96", "#17202a"
FONT = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"

MARGIN, LABEL_W, COL_W, BOX_W, BOX_H, MIN_WIDTH = 40, 200, 206, 174, 118, 1100
TRACK_H, LINE_H, CELL_PAD, BAND_FONT = 36, 18, 8, 14
CHAR_W = 0.56  # a character's width in ems, on the wide side, to lay text out without a font


def _text(value) -> str:
    """User text as SVG/HTML text: control characters shown, never markup."""
    return escape(visible(str(value)), quote=True)


def _width(text: str, size: float) -> float:
    return len(text) * size * CHAR_W


def _fit(text: str, size: float, room: float) -> str:
    """`text` cut with an ellipsis to fit `room` at `size`."""
    most = max(1, int(room / (size * CHAR_W)))
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _wrap(text: str, size: float, room: float, lines: int) -> list[str]:
    """`text` in at most `lines` lines of `room` width, by words; the last cut if need be."""
    most = max(1, int(room / (size * CHAR_W)))
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= most:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = _fit(out[-1] + " …", size, room) if len(out[-1]) < most else out[-1][:-1] + "…"
    return [_fit(line, size, room) for line in out]


def _label(x: float, y: float, size: float, text: str, **attrs) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attrs.items())
    return f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}"{extra}>{text}</text>'


@dataclass
class _Track:
    """A move drawn as a bus: a horizontal line at `y`, a drop to each of its stages."""

    move: Move
    y: float = 0
    ends: list[tuple[str, bool]] = field(default_factory=list)  # (stage key, is a target)


class _Poster:
    def __init__(self, lifecycle: LifecycleMap, title: str, today: date, team: str | None):
        self.map, self.title, self.today, self.team = lifecycle, title, today, team
        self.column = {stage["key"]: i for i, stage in enumerate(lifecycle.stages)}
        teams = list(lifecycle.teams)
        self.colours = {name: TEAM_COLOURS[i % len(TEAM_COLOURS)] for i, name in enumerate(teams)}
        stages_width = 2 * MARGIN + LABEL_W + max(1, len(lifecycle.stages)) * COL_W
        self.width = max(MIN_WIDTH, stages_width)  # room for the header and the legend
        self.parts: list[str] = []
        self.labels: list[str] = []
        drawn = [m for m in lifecycle.moves if m.sources and m.sources[0] in self.column]
        self.rules = self.tracks([m for m in drawn if not m.by_hand])
        self.by_hand = self.tracks([m for m in drawn if m.by_hand])

    def colour(self, team: str | None) -> tuple[str, str]:
        return self.colours.get(team, NO_TEAM) if team else NO_TEAM

    def box_x(self, key: str) -> float:
        return MARGIN + LABEL_W + self.column[key] * COL_W + (COL_W - BOX_W) / 2

    # --- the whole ---------------------------------------------------------------------------

    def draw(self) -> str:
        rules, by_hand = self.rules, self.by_hand
        y = self.header()
        y = self.section_label(y + 24, "Rules", "the daily tick moves customers")
        rules_top = y
        for i, track in enumerate(reversed(rules)):  # the shortest next to the stages
            track.y = rules_top + 14 + i * TRACK_H
        boxes_y = rules_top + len(rules) * TRACK_H + 26
        for i, track in enumerate(by_hand):
            track.y = boxes_y + BOX_H + 34 + i * TRACK_H
        ports = self.ports(rules, top=True) | self.ports(by_hand, top=False)
        for track in rules:
            self.track(track, ports, boxes_y, top=True)
        for track in by_hand:
            self.track(track, ports, boxes_y + BOX_H, top=False)
        self.stage_boxes(boxes_y)
        self.parts += self.labels
        self.section_label(boxes_y + BOX_H / 2 - 10, "Stages", "box: team, SLA, playbook")
        hand_y = boxes_y + BOX_H + 34
        if by_hand:
            self.section_label(hand_y - 8, "By hand", "moves people make")
        y = hand_y + len(by_hand) * TRACK_H + 20
        y = self.bands(y)
        y = self.legend(y + 30)
        height = y + MARGIN
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width:.0f} '
            f'{height:.0f}" width="{self.width:.0f}" height="{height:.0f}" role="img" '
            f'font-family="{FONT}" fill="{INK}">\n<title>{_text(self.title)}</title>\n'
            + self.defs()
            + f'<rect width="{self.width:.0f}" height="{height:.0f}" fill="#ffffff"/>\n'
        )
        return head + "\n".join(self.parts) + "\n</svg>\n"

    def defs(self) -> str:
        markers = "".join(
            f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{ink}"/></marker>'
            for name, ink in (("rule", RULE_INK), ("hand", HAND_INK), ("off", MUTED))
        )
        return f"<defs>{markers}</defs>\n"

    def header(self) -> float:
        stages = self.map.stages
        sub = (
            f"{len(stages)} stage{'' if len(stages) == 1 else 's'} · new customers enter at "
            f"{self.stage_name(self.map.entry_stage)} · as of {self.today.isoformat()}"
        )
        room = self.width - 2 * MARGIN
        self.parts += [
            _label(MARGIN, MARGIN + 34, 36, _text(_fit(self.title, 36, room)), font_weight="bold"),
            _label(MARGIN, MARGIN + 64, 17, _text(_fit(sub, 17, room)), fill=MUTED),
        ]
        return MARGIN + 72

    def stage_name(self, key: str) -> str:
        return next((s["name"] for s in self.map.stages if s["key"] == key), key)

    def section_label(self, y: float, name: str, note: str) -> float:
        self.parts += [
            _label(MARGIN, y + 4, 18, name, font_weight="bold"),
            _label(MARGIN, y + 24, 13, note, fill=MUTED),
        ]
        return y + 10

    # --- the moves -----------------------------------------------------------------------------

    def tracks(self, moves: list[Move]) -> list[_Track]:
        """A track per move, the shortest span first."""
        found = []
        for move in moves:
            ends = [(s, False) for s in move.sources if s in self.column]
            ends += [(t, True) for t in move.targets if t in self.column]
            found.append(_Track(move, ends=ends))
        return sorted(found, key=lambda t: (self.span(t), self.first(t), t.move.name))

    def span(self, track: _Track) -> int:
        columns = [self.column[key] for key, _ in track.ends]
        return max(columns) - min(columns)

    def first(self, track: _Track) -> int:
        return min(self.column[key] for key, _ in track.ends)

    def ports(self, tracks: list[_Track], top: bool) -> dict:
        """Where each drop meets its box: spread along the box's edge, a drop whose track runs
        left on the left, one that runs right on the right."""
        at: dict[str, list[tuple[float, float, int, int]]] = {}
        for n, track in enumerate(tracks):
            middle = sum(self.column[key] for key, _ in track.ends) / len(track.ends)
            for key, is_target in track.ends:
                lean = middle - self.column[key]
                reach = track.y if lean > 0 else -track.y
                at.setdefault(key, []).append((lean, reach, n, is_target))
        found = {}
        for key, ends in at.items():
            ends.sort()
            for i, (_, _, n, is_target) in enumerate(ends):
                x = self.box_x(key) + BOX_W * (i + 1) / (len(ends) + 1)
                found[(top, n, key, is_target)] = x
        return found

    def track(self, track: _Track, ports: dict, edge_y: float, top: bool) -> None:
        n = (self.rules if top else self.by_hand).index(track)
        move = track.move
        ink = MUTED if not move.enabled else HAND_INK if move.by_hand else RULE_INK
        marker = "off" if not move.enabled else "hand" if move.by_hand else "rule"
        dashed = ' stroke-dasharray="9 6"' if move.by_hand or move.back else ""
        xs = [ports[(top, n, key, is_target)] for key, is_target in track.ends]
        left, right = min(xs), max(xs)
        if right - left < 40:
            right = left + 40
        y = track.y
        self.parts.append(
            f'<path d="M{left:.1f},{y:.0f} H{right:.1f}" fill="none" stroke="{ink}" '
            f'stroke-width="2.2"{dashed}/>'
        )
        for (_, is_target), x in zip(track.ends, xs, strict=True):
            end_y = edge_y - 3 if top else edge_y + 3
            if is_target:
                self.parts.append(
                    f'<path d="M{x:.1f},{y:.0f} V{end_y:.0f}" fill="none" stroke="{ink}" '
                    f'stroke-width="2.2"{dashed} marker-end="url(#{marker})"/>'
                )
            else:
                self.parts.append(
                    f'<path d="M{x:.1f},{edge_y:.0f} V{y:.0f}" fill="none" stroke="{ink}" '
                    f'stroke-width="2.2"{dashed}/>'
                    f'<circle cx="{x:.1f}" cy="{edge_y:.0f}" r="4" fill="{ink}"/>'
                )
        self.track_label(track, left, y if top else y + 18, ink, top)

    def track_label(self, track: _Track, left: float, y: float, ink: str, top: bool) -> None:
        move = track.move
        how = move.how
        if move.back:
            how += (" → " if how else "") + "back to the stage it came from"
        if not track.move.targets and not move.back:
            how += " (stays)"
        if move.also:
            how += f"  + {move.also}"
        if not move.enabled:
            how += "  (disabled)"
        name = move.name
        room = self.width - MARGIN - left
        text_y = y - 7 if top else y
        size = 15
        plain = f"{name}  {how}"
        if _width(plain, size) > room:  # too long for the poster's edge: start further left
            left = max(MARGIN + LABEL_W, self.width - MARGIN - _width(plain, size))
            plain = _fit(plain, size, self.width - MARGIN - left)
        rest = _text(plain[len(name) :])
        self.labels.append(  # drawn over every line: a crossing line never hides a word
            f'<text x="{left + 4:.0f}" y="{text_y:.0f}" font-size="{size}" fill="{ink}" '
            f'stroke="#ffffff" stroke-width="5" stroke-linejoin="round" paint-order="stroke">'
            f'<tspan font-weight="bold">{_text(name)}</tspan>{rest}</text>'
        )

    # --- the stages ----------------------------------------------------------------------------

    def stage_boxes(self, y: float) -> None:
        reached = {target for move in self.map.moves for target in move.targets}
        for i, stage in enumerate(self.map.stages, start=1):
            x = self.box_x(stage["key"])
            strong, pale = self.colour(stage["team"])
            dash = ' stroke-dasharray="7 5"' if stage["terminal"] else ""
            room = BOX_W - 2 * CELL_PAD
            name = f"{i}. {stage['name']}"
            size = max(13, min(21, int(room / (max(1, len(name)) * CHAR_W))))
            lines = [
                _label(x + CELL_PAD, y + 28, f"{size:.0f}", _text(_fit(name, size, room)),
                       font_weight="bold"),
                _label(x + CELL_PAD, y + 50, 15, _text(_fit(stage["team"] or "no team", 15, room)),
                       fill=strong, font_weight="bold"),
                _label(x + CELL_PAD, y + 71, 15,
                       f"SLA {stage['expected_days']} days" if stage["expected_days"]
                       else "no SLA"),
            ]  # fmt: skip
            if stage["playbook"]:
                text = _fit(f"playbook {stage['playbook']}", 13, room)
                lines.append(_label(x + CELL_PAD, y + 91, 13, _text(text), fill=MUTED))
            tag, ink = "terminal" if stage["terminal"] else "", INK
            if stage["key"] == self.map.entry_stage:
                tag = "▶ entry stage"
            elif not tag and i > 1 and stage["key"] not in reached:
                tag, ink = "⚠ no move leads here", HAND_INK
            if tag:
                lines.append(_label(x + CELL_PAD, y + 110, 13, tag, font_weight="bold", fill=ink))
            self.parts += [
                f'<rect x="{x:.1f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="12" '
                f'fill="{pale}" stroke="{strong}" stroke-width="3"{dash}/>',
                *lines,
            ]

    # --- the teams -----------------------------------------------------------------------------

    def cell_lines(self, team: str, key: str) -> list[tuple[str, str]]:
        """(text, kind) lines of a team's roles at a stage."""
        room = COL_W - 2 * CELL_PAD
        details: dict[str, list[str]] = {}
        for role in self.map.roles.get((team, key), []):
            details.setdefault(role.kind, []).append(role.detail)
        out = [("owns the customers", OWNS)] if OWNS in details else []
        for kind, words, most in ((RECEIVES, "receives from", 2), (HANDS_OFF, "hands off to", 2),
                                  (COLLABORATES, "collaborates on", 3)):  # fmt: skip
            if kind in details:
                text = f"{words} {', '.join(details[kind])}"
                out += [(line, kind) for line in _wrap(text, BAND_FONT, room, most)]
        return out

    def bands(self, y: float) -> float:
        self.parts += [
            _label(MARGIN, y + 20, 18, "Who does what", font_weight="bold"),
            _label(MARGIN + 150, y + 20, 13, "each team's role at each stage", fill=MUTED),
        ]
        y += 34
        left = MARGIN
        right = self.width - MARGIN
        for n, team in enumerate(self.map.teams):
            cells = {s["key"]: self.cell_lines(team, s["key"]) for s in self.map.stages}
            lines = max([1, *map(len, cells.values())])
            height = max(44, lines * LINE_H + 2 * CELL_PAD + 4)
            strong, pale = self.colour(team)
            mine = team == self.team
            self.parts.append(
                f'<rect x="{left}" y="{y:.0f}" width="{right - left:.0f}" height="{height}" '
                f'fill="{"#f8f9f9" if n % 2 else "#ffffff"}" '
                f'stroke="{strong if mine else "#d5d8dc"}" stroke-width="{3 if mine else 1}"/>'
            )
            self.parts += [
                f'<rect x="{left}" y="{y:.0f}" width="10" height="{height}" fill="{strong}"/>',
                _label(left + 20, y + 26, 16, _text(_fit(team, 16, LABEL_W - 30)),
                       font_weight="bold", fill=strong),
            ]  # fmt: skip
            if mine:
                self.parts.append(_label(left + 20, y + 44, 12, "◀ this team", fill=strong))
            for key, found in cells.items():
                x = MARGIN + LABEL_W + self.column[key] * COL_W
                if any(kind == OWNS for _, kind in found):
                    self.parts.append(
                        f'<rect x="{x + 3:.0f}" y="{y + 3:.0f}" width="{COL_W - 6}" '
                        f'height="{height - 6}" rx="6" fill="{pale}"/>'
                    )
                for i, (text, kind) in enumerate(found):
                    weight = ' font-weight="bold"' if kind == OWNS else ""
                    ink = strong if kind == OWNS else INK
                    self.parts.append(
                        f'<text x="{x + CELL_PAD:.0f}" y="{y + CELL_PAD + 14 + i * LINE_H:.0f}" '
                        f'font-size="{BAND_FONT}" fill="{ink}"{weight}>{_text(text)}</text>'
                    )
            y += height
        if not self.map.teams:
            self.parts.append(_label(MARGIN, y + 18, 14, "No teams yet.", fill=MUTED))
            y += 30
        return y

    # --- the legend ----------------------------------------------------------------------------

    def legend(self, y: float) -> float:
        self.parts.append(_label(MARGIN, y + 4, 18, "Legend", font_weight="bold"))
        y += 22
        x1, x2 = MARGIN, MARGIN + 620
        keys = [
            (RULE_INK, "", "rule", "a rule: the daily tick moves the customer when it holds"),
            (HAND_INK, ' stroke-dasharray="9 6"', "hand",
             "by hand: a person moves the customer (win, churn, renew, win back)"),
            (RULE_INK, ' stroke-dasharray="9 6"', "rule",
             "back: to the stage the customer came from"),
        ]  # fmt: skip
        for i, (ink, dash, marker, text) in enumerate(keys):
            row = y + 14 + i * 24
            self.parts += [
                f'<circle cx="{x1 + 2}" cy="{row - 5}" r="4" fill="{ink}"/>'
                f'<path d="M{x1 + 2},{row - 5} H{x1 + 52}" stroke="{ink}" stroke-width="2.2"'
                f'{dash} marker-end="url(#{marker})"/>',
                _label(x1 + 64, row, 14, _text(text)),
            ]
        notes = [
            "box: the stage, its team, its SLA (expected days in it) and the playbook run "
            "on entry; a dashed box is terminal",
            "owns the customers: the team's members own them there; receives from / hands off "
            "to: customers come from / go to another team's stage",
            "collaborates on: its members work on these milestones of the stage's playbook",
        ]
        if self.map.churn_reasons:
            notes.append("churn reasons: " + ", ".join(self.map.churn_reasons))
        per_column = 4
        keys_height = len(keys) * 24 + 10
        if x2 + 260 > self.width - MARGIN:  # a narrow poster: the teams under the lines
            x2, y = x1, y + keys_height
            keys_height = 0
        columns = max(1, int((self.width - MARGIN - x2) // 260))
        per_column = max(per_column, -(-len(self.map.teams) // columns))
        for i, team in enumerate(self.map.teams):
            strong, pale = self.colour(team)
            col, row = divmod(i, per_column)
            sx, sy = x2 + col * 260, y + row * 24
            self.parts += [
                f'<rect x="{sx}" y="{sy:.0f}" width="28" height="16" rx="3" fill="{pale}" '
                f'stroke="{strong}" stroke-width="2"/>',
                _label(sx + 36, sy + 13, 14, _text(_fit(team, 14, 210))),
            ]
        y += max(keys_height, min(per_column, len(self.map.teams)) * 24) + 24
        for note in notes:
            for line in _wrap(note, 14, self.width - MARGIN - x1, 4):
                self.parts.append(_label(x1, y, 14, _text(line)))
                y += 21
        footer = f"Drawn by clm model show on {self.today.isoformat()}."
        bottom = y + 12
        self.parts.append(_label(MARGIN, bottom, 12, _text(footer), fill=MUTED))
        return bottom


def poster_svg(lifecycle: LifecycleMap, title: str, today: date, team: str | None = None) -> str:
    """The poster as an SVG document (a file of its own)."""
    drawing = _Poster(lifecycle, title, today, team).draw()
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + drawing


PRINT_CSS = """@page { size: A3 landscape; margin: 8mm; }
html, body { margin: 0; background: #ffffff; }
body { padding: 16px; }
svg { display: block; width: 100%; height: auto; }
@media print {
  body { padding: 0; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  svg { width: auto; height: auto; max-width: 100%; max-height: 280mm; margin: 0 auto; }
}"""


def poster_html(lifecycle: LifecycleMap, title: str, today: date, team: str | None = None) -> str:
    """A self-contained page holding the poster, laid out to print on one A3 sheet."""
    svg = poster_svg(lifecycle, title, today, team).split("\n", 1)[1]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(title)} ({today.isoformat()})</title>\n"
        f"<style>\n{PRINT_CSS}\n</style>\n</head>\n<body>\n{svg}</body>\n</html>\n"
    )
