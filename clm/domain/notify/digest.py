"""What a message says: a digest's subject, its text and HTML parts, and its webhook bodies.
Built from the outbox row alone, so a message sent again is the same message."""

import html
import json
from collections import Counter

# Item kinds in the order a digest lists them: (singular, plural, heading).
KINDS = {
    "reminder": ("reminder", "reminders", "Reminders"),
    "handoff": ("handoff", "handoffs", "Customers handed to you"),
    "unowned": (
        "customer without an owner",
        "customers without an owner",
        "Customers your team has to assign",
    ),
    "cta": ("CTA", "CTAs", "CTAs opened for you"),
    "task": ("task", "tasks", "Tasks assigned to you"),
    "blocked": ("blocked milestone", "blocked milestones", "Milestones blocked"),
    "done": ("milestone done", "milestones done", "Milestones done"),
    "test": ("test", "tests", "Test"),
}


def subject(day, items: list[dict]) -> str:
    """`clm: 3 reminders, 1 handoff for 2026-12-07`."""
    counts = Counter(item["kind"] for item in items)
    parts = [
        f"{counts[kind]} {one if counts[kind] == 1 else many}"
        for kind, (one, many, _) in KINDS.items()
        if counts[kind]
    ]
    return f"clm: {', '.join(parts) or 'nothing new'} for {day}"


# A team's digest says what concerns the team's customers, not what is for "you".
TEAM_HEADINGS = {
    "reminder": "Reminders on the team's customers",
    "handoff": "Customers handed to the team",
    "unowned": "Customers the team has to assign",
    "cta": "CTAs opened on the team's customers",
}


def grouped(items: list[dict], team: bool = False) -> list[tuple[str, list[dict]]]:
    return [
        (TEAM_HEADINGS.get(kind, heading) if team else heading,
         [item for item in items if item["kind"] == kind])
        for kind, (_, _, heading) in KINDS.items()
        if any(item["kind"] == kind for item in items)
    ]  # fmt: skip


def _due(item: dict) -> str:
    """`due DAY`, or nothing (a handoff's day is when it happened, not a due date)."""
    return f"due {item['due']}" if item.get("due") and item["kind"] != "handoff" else ""


def _line(item: dict) -> str:
    due = f" ({_due(item)})" if _due(item) else ""
    return f"{item['customer']}: {item['title']}{due}"


def text_part(handle: str, day, items: list[dict]) -> str:
    lines = [f"Hello {handle}, what clm has for you on {day}:", ""]
    for heading, found in grouped(items):
        lines.append(f"{heading} ({len(found)})")
        for item in found:
            lines += [f"  - {_line(item)}", f"      {item['act']}"]
        lines.append("")
    lines.append("Your whole agenda: clm my")
    return "\n".join(lines) + "\n"


# Mail clients drop external sheets and scripts; a <style> in the head is read by the common
# ones (and the text part is there for the rest). Nothing is loaded from anywhere.
STYLE = """body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  font-size: 15px; line-height: 1.45; color: #1f2328; max-width: 640px; margin: 24px; }
h3 { font-size: 15px; margin: 20px 0 6px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
ul { margin: 0; padding-left: 20px; } li { margin: 6px 0; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px;
  background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 4px; padding: 0 4px; }
.customer { font-weight: 600; } .due { color: #59636e; }"""


def html_part(handle: str, day, items: list[dict]) -> str:
    e = html.escape
    body = [f"<p>Hello {e(handle)}, what clm has for you on {e(str(day))}:</p>"]
    for heading, found in grouped(items):
        body.append(f"<h3>{e(heading)} ({len(found)})</h3><ul>")
        body += [f"<li>{_html_line(item)}<br><code>{e(item['act'])}</code></li>" for item in found]
        body.append("</ul>")
    body.append("<p>Your whole agenda: <code>clm my</code></p>")
    head = f'<head><meta charset="utf-8"><style>{STYLE}</style></head>'
    return f"<html>{head}<body>" + "\n".join(body) + "</body></html>\n"


def _html_line(item: dict) -> str:
    e = html.escape
    due = f" <span class=due>({e(_due(item))})</span>" if _due(item) else ""
    return f"<span class=customer>{e(item['customer'])}</span>: {e(item['title'])}{due}"


def slack_body(handle, day, items: list[dict], team=None) -> dict:
    """Slack's incoming-webhook body (Mattermost and others take it too): mrkdwn text. For a
    user (`handle`) or a team's channel (`team`)."""
    lines = [f"*{subject(day, items)}* (for {f'team {team}' if team else handle})"]
    for heading, found in grouped(items, team=bool(team)):
        lines.append(f"*{heading}*")
        lines += [f"• {_line(item)}  `{item['act']}`" for item in found]
    return {"text": "\n".join(lines)}


def json_body(key: str, handle, day, kind: str, items: list[dict], team=None) -> dict:
    """The generic body: everything, machine-readable; `id` is the idempotency key. A team's
    digest names its `team` instead of a `user`."""
    to = {"team": team} if team else {"user": handle}
    return {
        "id": key, **to, "day": str(day), "kind": kind,
        "subject": subject(day, items), "items": items,
    }  # fmt: skip


def encoded(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True).encode()
