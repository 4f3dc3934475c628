"""`clm customer …`, `clm note` and `clm why`: accounts and their timeline."""

from typing import Annotated

import typer

from clm.commands.common import FormatOpt, YesOpt, confirm, noun, refuse_contradiction
from clm.render.output import (
    Col,
    Format,
    Section,
    is_terminal,
    iso_dates,
    print_handle,
    render_record,
    render_rows,
    say,
)

app = noun("Customers (accounts): add, list, show, edit, move, renew, remove. Lists by default.")

COLUMNS = (
    Col("slug"),
    Col("name"),
    Col("stage"),
    Col("owner", drop=2),
    Col("start", table=False),
    Col("renewal", drop=1),
    Col("term", table=False),
    Col("arr", "ARR", money=True),
    Col("health", drop=3),
    Col("lead_score", table=False),
    Col("source", table=False),
    Col("tags", table=False),
    Col("influencers", table=False),
    Col("stage_entered", table=False),
    Col("days_in_stage", "days", drop=4),
    Col("uuid", table=False),
    Col("handoff_pending", table=False),
)
PAGE = (
    *(
        Col(c.key, c.header if c.key != "days_in_stage" else "", money=c.money)
        for c in COLUMNS
        if c.key not in ("slug", "name")
    ),
    Col("pinned", "pinned dates"),
    Col("band"),
    Col("band_since", "band held"),
    Col("health_override", "health set by hand"),
    Col("health_trend", "health over time"),
    Col("health_missing", "no value of"),
    Col("churn_reason", "churned for"),
    Col("lost_arr", "lost ARR", money=True),
    Col("forecast"),
    Col("forecast_set_by", "forecast set by"),
)
# What `customer show` adds to a customer's keys: pinned dates; a churned one's reason and ARR;
# the renewal forecast and whether it was set by hand or comes from health.
SHOWN = (
    Col("pinned"), Col("band"), Col("band_since"), Col("health_override"), Col("health_missing"),
    Col("churn_reason"), Col("lost_arr"), Col("forecast"), Col("forecast_set_by"),
)  # fmt: skip
# csv, tsv and jsonl have one row for a customer: its ARR history is one cell there.
FLAT_ARR_HISTORY = Col("arr_history")
MILESTONES = (
    Col("id"),
    Col("title"),
    Col("due"),
    Col("status"),
    Col("remind_on", "reminds"),
    Col("every"),
)
CONTACTS = (
    Col("id"), Col("name"), Col("role"), Col("email"), Col("primary"), Col("left_on", "left")
)  # fmt: skip
CTAS = (Col("id"), Col("type"), Col("reason"), Col("priority"), Col("owner"), Col("due"))
TASKS = (Col("id"), Col("title"), Col("due"), Col("assignee"), Col("milestone"), Col("cta", "CTA"))
TIMELINE = (Col("on"), Col("kind"), Col("text"), Col("by"), Col("reason"))
PHASES = (Col("title", "phase"), Col("on"), Col("status"))
STAYS = (Col("stage"), Col("entered"), Col("left"), Col("days", number=True))
HEALTH = (Col("on"), Col("health"))
ARR_HISTORY = (
    Col("on"),
    Col("kind"),
    Col("old", "old ARR", money=True),
    Col("new", "new ARR", money=True),
    Col("change", "change to the book", money=True),
)
MEASURES = (
    Col("metric"),
    Col("value", number=True),
    Col("score", number=True),
    Col("weight", number=True),
    Col("contribution", number=True),
)
HISTORY = (Col("on"), Col("from"), Col("to"), Col("by"), Col("reason"))

Slug = Annotated[str, typer.Argument(help="The customer's slug, e.g. acme-corp.")]
Owner = Annotated[str | None, typer.Option(help="Owner's user handle.")]
Start = Annotated[
    str | None, typer.Option(metavar="DATE", help="Contract start date (default: today).")
]
Renewal = Annotated[
    str | None,
    typer.Option(metavar="DATE", help="Renewal date, the contract's end (default: start + term)."),
]
Term = Annotated[
    str | None, typer.Option(metavar="DUR", help="Contract term, e.g. 1y, 6m (default: 1y).")
]
Arr = Annotated[float | None, typer.Option("--arr", help="Annual recurring revenue.")]
Health = Annotated[int | None, typer.Option(help="Health score, 0–100.")]
LeadScore = Annotated[int | None, typer.Option(help="Lead score, 0–100.")]
Source = Annotated[str | None, typer.Option(help="Where it came from: marketing, referral, …")]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")]
Sets = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="NAME=VALUE", help="A custom field's value (repeatable; NAME= unsets)."
    ),
]
Influencers = Annotated[
    list[str] | None,
    typer.Option("--influencer", help="A user who follows the account (repeatable)."),
]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The customer's name, e.g. 'Acme Corp'.")],
    slug: Annotated[
        str | None, typer.Option(help="Handle (default: derived from the name).")
    ] = None,
    stage: Annotated[str | None, typer.Option(help="Stage key (default: the entry stage).")] = None,
    owner: Owner = None,
    start: Start = None,
    renewal: Renewal = None,
    term: Term = None,
    arr: Arr = None,
    health: Health = None,
    lead_score: LeadScore = None,
    source: Source = None,
    tag: Tags = None,
    influencer: Influencers = None,
    set_: Sets = None,
) -> None:
    """Add a customer.

    Example: clm customer add "Acme Corp" --owner alice --arr 24000 --tag enterprise
    """
    env = ctx.obj
    from clm.domain.customers import add_customer

    values = {
        "start": env.date(start, "--start"),
        "renewal": env.date(renewal, "--renewal"),
        "term": env.duration(term, "--term"),
    }
    with env.database().write() as conn:
        record = add_customer(
            conn, env.today, env.author(conn), name, slug=slug, stage=stage, owner=owner, arr=arr,
            health=health, lead_score=lead_score, source=source, tags=tag or (),
            influencers=influencer or (), custom=set_ or (), **values,
        )  # fmt: skip
    owned = f", owned by {record['owner']}" if record["owner"] else ", no owner"
    if record["handoff_pending"]:
        owned += (
            f" (team {record['handoff_pending']} has nobody to assign: "
            f"clm customer assign {record['slug']} --owner USER)"
        )
    say(env, f"Added {record['slug']} ({record['name']}) in {record['stage']}{owned}.")
    print_handle(env, record["slug"])


@app.command("list")
def list_(
    ctx: typer.Context,
    stage: Annotated[str | None, typer.Option(help="Only customers in this stage.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only customers this user owns.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only customers with this tag.")] = None,
    renewal_within: Annotated[
        str | None,
        typer.Option(metavar="DUR", help="Only renewals from today to this far ahead, e.g. 90d."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(metavar="N", help="At most N customers, the first by slug.")
    ] = None,
    unowned: Annotated[
        bool, typer.Option("--unowned", help="Only customers with no owner.")
    ] = False,
    handoff_pending: Annotated[
        bool,
        typer.Option(
            "--handoff-pending", help="Only customers handed to a team with nobody to assign."
        ),
    ] = False,
    where: Annotated[
        list[str] | None,
        typer.Option(
            metavar="FILTER",
            help="Only customers it holds for, e.g. 'seats >= 50', "
            "'segment = enterprise and renewal <= +90d', 'industry is not set' "
            "(repeatable; see clm help where).",
        ),
    ] = None,
    mine: Annotated[
        bool,
        typer.Option(
            "--mine",
            help="Only the customers you own, influence, collaborate on through a milestone, "
            "or that sit in a stage your team owns (needs --as or CLM_USER).",
        ),
    ] = False,
    team: Annotated[
        str | None,
        typer.Option(
            metavar="TEAM", help="Only customers in a stage TEAM owns, or owned by its members."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List customers; --fields picks columns, custom fields included.

    Example: clm customer list --where 'seats >= 50' --fields slug,stage,seats
    """
    env = ctx.obj
    from clm.domain.customers import CustomerFilter, list_customers
    from clm.errors import Invalid

    if limit is not None and limit < 1:
        raise Invalid(f"invalid --limit {limit}: use a number of customers, 1 or more")
    if mine and not env.user:
        raise Invalid("--mine needs to know who you are: give --as USER or set CLM_USER")
    chosen = CustomerFilter(
        stage=stage, owner=owner, tag=tag,
        renewal_within=env.duration(renewal_within, "--renewal-within"), unowned=unowned,
        handoff_pending=handoff_pending, where=tuple(where or ()),
        mine=env.user if mine else None, team=team, limit=limit,
    )  # fmt: skip
    if fmt is Format.table and not is_terminal(env) and not env.fields and iso_dates():
        # In a pipe the database lays the table out: a whole book in a fraction of the time
        # Python takes to format its cells. It reads twice: one snapshot for both.
        from clm.db import snapshot
        from clm.domain.customers import customer_table
        from clm.render.sql_table import write_table

        with snapshot(env.database()) as conn:
            listing = customer_table(conn, env.today, chosen)
            if not write_table(conn, env.stdout, COLUMNS, listing):
                say(env, "No customers.")
        return
    known = {col.key for col in COLUMNS}
    custom = [name for name in env.fields or () if name not in known]
    columns = (*COLUMNS, *(Col(name, table=False) for name in custom))
    with env.database().read() as conn:
        rows = list_customers(conn, env.today, chosen, custom=custom)
        render_rows(env, rows, columns, fmt, noun="customers")


@app.command("show")
def show(ctx: typer.Context, slug: Slug, fmt: FormatOpt = Format.table) -> None:
    """Show a customer: details, its renewal forecast (set by hand or from health), its ARR
    history (each change: day, kind, old and new ARR) and timeline.

    Example: clm customer show acme-corp
    """
    env = ctx.obj
    from clm.domain.customer_page import customer_page

    with env.reads() as reads:
        record, lists = customer_page(reads, env.today, slug)
    title = f"{record['name']} ({record['slug']})"
    sections = [
        Section("contacts", "Contacts", CONTACTS, lists["contacts"]),
        Section("milestones", "Milestones", MILESTONES, lists["milestones"]),
        Section("phases", "Phases", PHASES, lists["phases"]),
        Section("ctas", "Open CTAs", CTAS, lists["ctas"]),
        Section("tasks", "Open tasks", TASKS, lists["tasks"]),
        Section("health_measures", "Health scorecard", MEASURES, lists["health_measures"]),
        Section("arr_history", "ARR history", ARR_HISTORY, lists["arr_history"]),
        Section("stays", "Stages", STAYS, lists["stays"], extra=_stay_bars(lists["stays"])),
        Section("timeline", "Timeline", TIMELINE, lists["timeline"]),
    ]
    hidden = [Section("health_history", "Health", HEALTH, lists["health_history"])]
    if fmt is Format.json:
        sections += hidden
    custom = tuple(Col(name) for name in lists["fields"])
    flat = ()
    if fmt in (Format.csv, Format.tsv, Format.jsonl):
        record["arr_history"] = [_arr_change(change) for change in lists["arr_history"]]
        flat = (FLAT_ARR_HISTORY,)
    render_record(
        env, title, record, (*COLUMNS, *SHOWN, *custom, *flat), fmt, sections,
        page=(*PAGE, *custom),
    )  # fmt: skip
    if lists["earlier"] and fmt is Format.table:
        earlier = lists["earlier"]
        entries = "entry" if earlier == 1 else "entries"
        say(env, f"{earlier} earlier timeline {entries}: clm customer timeline {slug}")


def _arr_change(change: dict) -> str:
    """One ARR change as a cell's item: `2026-01-02 expansion 10000 → 12000`."""
    from clm.plain import number

    old, new = number(change["old"]), number(change["new"])
    return f"{change['on'].isoformat()} {change['kind']} {old} → {new}"


@app.command("timeline")
def timeline(
    ctx: typer.Context,
    slug: Slug,
    since: Annotated[
        str | None, typer.Option(metavar="DATE", help="Only entries on or after DATE.")
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            help="Only entries of this kind (repeatable): stage, owner, cta, milestone, "
            "renewal, churn, start, phase, note, call, email, meeting.",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show a customer's whole timeline: notes and system events, oldest first.

    Stage and owner changes (who and why), CTAs opened and closed, milestones done and
    blocked, renewals, churn with its reason, lifecycle phases passed.
    Example: clm customer timeline acme-corp --since -3m --kind cta
    """
    env = ctx.obj
    from clm.domain.timeline import timeline as customer_timeline

    after = env.date(since, "--since") if since is not None else None
    with env.database().read() as conn:
        entries = customer_timeline(conn, env.today, slug, after, tuple(kind or ()))
    render_rows(env, entries, TIMELINE, fmt, noun="timeline entries")


def _stay_bars(stays: list[dict]) -> list:
    """A bar per stay, as long as its share of the customer's life: the stages as a timeline."""
    from clm.render.output import Bar

    longest = max((stay["days"] for stay in stays), default=0)
    return [Bar(lambda stay: stay["days"] / longest if longest else 0, style="", width=24)]


@app.command("edit")
def edit(
    ctx: typer.Context,
    slug: Slug,
    name: Annotated[str | None, typer.Option(help="New name (the slug stays).")] = None,
    owner: Owner = None,
    start: Start = None,
    renewal: Renewal = None,
    term: Term = None,
    arr: Arr = None,
    health: Health = None,
    lead_score: LeadScore = None,
    source: Source = None,
    forecast: Annotated[
        str | None,
        typer.Option(
            metavar="CATEGORY",
            help="Renewal forecast: commit, likely, at-risk, lost, or auto (from health).",
        ),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Add a tag (repeatable).")] = None,
    untag: Annotated[
        list[str] | None, typer.Option("--untag", help="Remove a tag (repeatable).")
    ] = None,
    influencer: Annotated[
        list[str] | None, typer.Option("--influencer", help="Add an influencer (repeatable).")
    ] = None,
    remove_influencer: Annotated[
        list[str] | None,
        typer.Option("--remove-influencer", help="Remove an influencer (repeatable)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DATE",
            help="With --health and a scorecard: the last day it holds over the score.",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="With --until: why health is set by hand.")
    ] = None,
    set_: Sets = None,
) -> None:
    """Change a customer's fields, tags and influencers.

    With a health scorecard, the tick scores health every day: --health needs --until DATE
    and --reason, and holds over the score until that day.

    Example: clm customer edit acme-corp --health 35 --tag at-risk
    """
    env = ctx.obj
    from clm.domain.customers import edit_customer
    from clm.errors import Invalid

    fields = {
        "name": name, "owner": owner, "start": env.date(start, "--start"),
        "renewal": env.date(renewal, "--renewal"), "term": env.duration(term, "--term"),
        "arr": arr, "health": health, "lead_score": lead_score, "source": source,
        "forecast": forecast,
        "health_until": env.date(until, "--until"), "health_reason": reason,
    }  # fmt: skip
    links = {
        "add_tags": tag or (), "remove_tags": untag or (),
        "add_influencers": influencer or (), "remove_influencers": remove_influencer or (),
    }  # fmt: skip
    if all(v is None for v in fields.values()) and not any(links.values()) and not set_:
        raise Invalid("nothing to change: pass at least one option (see clm customer edit --help)")
    refuse_contradiction("--tag", tag, "--untag", untag)
    refuse_contradiction("--influencer", influencer, "--remove-influencer", remove_influencer)
    with env.database().write() as conn:
        changed = edit_customer(
            conn, env.today, slug, fields, **links, by=env.author(conn), custom=set_ or ()
        )
    say(env, f"Changed {', '.join(changed)} of {slug}." if changed else f"No change to {slug}.")


@app.command("move")
def move(
    ctx: typer.Context,
    slug: Slug,
    stage: Annotated[str, typer.Argument(help="The stage to move to.")],
    reason: Annotated[str | None, typer.Option(help="Why (needed to move back).")] = None,
    on: Annotated[
        str | None, typer.Option(metavar="DATE", help="When it happened (default: today).")
    ] = None,
) -> None:
    """Move a customer to another stage by hand.

    Example: clm customer move acme-corp adopting --reason "kick-off done"
    """
    env = ctx.obj
    from clm.domain.customers import move_customer

    when = env.date(on, "--on")
    with env.database().write() as conn:
        moved = move_customer(
            conn, env.today, env.author(conn), slug, stage, reason=reason, on=when
        )
    say(env, _moved_message(moved))


def _moved_message(moved: dict) -> str:
    text = f"Moved {moved['customer']} from {moved['from']} to {moved['to']} on {moved['on']}."
    if moved["pending"]:
        kept = f"kept {moved['from_owner']}" if moved["from_owner"] else "none"
        text += (
            f" Owner: {kept}; handoff pending: team {moved['pending']} has nobody to assign "
            f"(clm customer assign {moved['customer']} --owner USER)."
        )
    elif moved["handoff"]:
        text += f" Owner: {moved['from_owner'] or 'none'} → {moved['to_owner'] or 'none'}."
    return text


@app.command("renew")
def renew(
    ctx: typer.Context,
    slug: Slug,
    until: Annotated[
        str | None, typer.Option(metavar="DATE", help="New renewal date (default: one term on).")
    ] = None,
    arr: Annotated[
        float | None,
        typer.Option("--arr", help="The renewal's new ARR: an upsell or a downsell."),
    ] = None,
) -> None:
    """Record a renewal: the renewal date moves one term ahead.

    The renewal playbook's open work is marked done, and a customer in the renewal stage goes
    back to the stage it came from (never to the entry stage), running no playbook again.
    With --arr, the new ARR is kept in the ARR history as an expansion or a contraction.
    Example: clm customer renew acme-corp --arr 60000
    """
    env = ctx.obj
    from clm.domain.customers import renew_customer

    when = env.date(until, "--until")
    with env.database().write() as conn:
        renewed = renew_customer(conn, env.today, env.author(conn), slug, until=when, arr=arr)
    for line in renewed_lines(renewed):
        say(env, line)


def renewed_lines(renewed: dict, as_milestone: bool = False) -> list[str]:
    """What a recorded renewal did, a line each (also after `milestone done` of the Renewal
    milestone, which records it the same way)."""
    slug = renewed["customer"]
    if as_milestone:
        lines = [f"Recorded the renewal of {slug} (as clm customer renew {slug} does): "
                 f"renewed until {renewed['renewal']}."]  # fmt: skip
    else:
        lines = [f"Renewed {slug} until {renewed['renewal']}."]
        if renewed.get("arr_was") is not None:
            lines.append(f"ARR {renewed['arr']:,.0f} (was {renewed['arr_was']:,.0f}).")
        rolled = renewed["milestone"]
        if rolled and rolled["next"]:
            lines.append(
                f"Renewal milestone {rolled['id']} done; next: milestone {rolled['next']}."
            )
    closed = renewed["closed"]
    count = len(closed["milestones"]) + len(closed["tasks"])
    if count:
        ids = [f"milestone {i}" for i in closed["milestones"]]
        ids += [f"task {i}" for i in closed["tasks"]]
        lines.append(f"Done with the renewal playbook's open work: {', '.join(ids)}.")
    if renewed["moved"]:
        lines.append(_moved_message(renewed["moved"]))
    return lines


@app.command("assign")
def assign(
    ctx: typer.Context,
    slug: Slug,
    owner: Annotated[
        str | None, typer.Option(help="The new owner (default: whom the team's policy picks).")
    ] = None,
) -> None:
    """Give a customer an owner, ending a pending handoff.

    Without --owner, the policy of the team of its stage picks (see clm user team).
    Example: clm customer assign acme-corp --owner alice
    """
    env = ctx.obj
    from clm.domain.ownership import assign_customer

    with env.database().write() as conn:
        done = assign_customer(conn, env.today, env.author(conn), slug, owner)
    was = f"was {done['from_owner'] or 'nobody'}" + (
        ", handoff pending" if done["was_pending"] else ""
    )
    say(env, f"Assigned {done['customer']} to {done['to_owner']} ({done['how']}; {was}).")


@app.command("rm")
def rm(ctx: typer.Context, slug: Slug, yes: YesOpt = False) -> None:
    """Remove a customer (kept as a tombstone; its history stays).

    Example: clm customer rm acme-corp --yes
    """
    env = ctx.obj
    from clm.domain.customers import get_customer, remove_customer

    with env.database().write() as conn:
        get_customer(conn, slug)
        confirm(env, f"remove customer '{slug}'", yes)
        name = remove_customer(conn, slug)
    say(env, f"Removed {slug} ({name}).")


def note(
    ctx: typer.Context,
    slug: Slug,
    text: Annotated[str, typer.Argument(help="What happened.")],
    kind: Annotated[str, typer.Option(help="note, call, email or meeting.")] = "note",
    on: Annotated[str | None, typer.Option(metavar="DATE", help="When (default: today).")] = None,
    milestone: Annotated[
        int | None, typer.Option(metavar="ID", help="The milestone it is about (shows on it too).")
    ] = None,
) -> None:
    """Add a note, call, email or meeting to a customer's timeline.

    Example: clm note acme-corp "QBR went well" --kind meeting
    """
    env = ctx.obj
    from clm.domain.customers import NOTE_KINDS, add_note
    from clm.errors import Invalid

    if kind not in NOTE_KINDS:
        raise Invalid(f"invalid --kind '{kind}': use {', '.join(NOTE_KINDS)}")
    when = env.date(on, "--on")
    with env.database().write() as conn:
        by = env.author(conn)
        add_note(conn, env.today, by, slug, text, kind=kind, on=when, milestone_id=milestone)
    say(env, f"Noted on {slug}.")


def why(ctx: typer.Context, slug: Slug, fmt: FormatOpt = Format.table) -> None:
    """Show a customer's stage history: when, from, to, by whom or which rule, and why.

    Example: clm why acme-corp
    """
    env = ctx.obj
    from clm.domain.customers import stage_history

    with env.database().read() as conn:
        render_rows(env, stage_history(conn, slug), HISTORY, fmt, noun="stage changes")
