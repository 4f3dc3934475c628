"""Help that teaches: the topics of `clm help TOPIC`, any command's help as text, and the
command reference (docs/reference.md) made from the same help."""

TOPICS = {
    "dates": (
        "Dates and durations: what every DATE and DUR option accepts",
        """\
Dates (--due, --on, --start, --renewal, --until, --today, ...)
  2026-03-31        an ISO date, YYYY-MM-DD (never day-first: 03/04/2026 is refused)
  today, tomorrow, yesterday
  +30d  -2w  +3m  +1y
                    an offset from today in days, weeks, months or years
  +5bd              five business days ahead (Monday to Friday, skipping `clm holiday` days)
  eom  eoq  eoy     the end of this month, quarter, year
  som  soq  soy     the start of this month, quarter, year
  sow  eow          the start (Monday) and end (Sunday) of this week
  "Today" is --today DATE, else $CLM_TODAY, else the local date: `clm --today +1w tick
  --dry-run` shows what next week brings.

Durations (--term, --remind, --every, --renewal-within, --due-within, ...)
  30d  2w  3m  1y   days, weeks, months, years; words work too: "30 days", "2 months"
  5bd               business days, skipping `clm holiday` days (in dates and playbooks too)
  --every takes year, quarter, month, week or a duration up to 100 years (no business days);
  --term a duration from 1 day to 100 years.
  Month and year arithmetic clamps to the month's end (Jan 31 + 1m = Feb 28, or 29 in a
  leap year) and is always counted from the anchor date, never chained: a monthly
  milestone due on the 31st stays on each month's last day.

Examples
  clm milestone add acme-corp "QBR" --due +3m --remind 2w --remind 2bd --every quarter
  clm customer list --renewal-within 90d
  clm tick --dry-run --until eom
""",
    ),
    "conditions": (
        "Rule conditions: what `clm rule add --when` accepts",
        """\
A condition is FIELD OP VALUE; every --when of a rule must hold.
{conditions}
Or a custom field (clm field list), or a contact who left in the current stay:
  seats >= 50  segment = enterprise  trial = true  go_live_date <= today
  renewal_date <= today+30d   a date against a day relative to each day (today-14d, today+2w)
  contact_left:ROLE   a contact of this role (one of the model's contact_roles: champion,
                      sponsor, signer, … by default) left: `clm contact edit ID --left`
A field's condition is dated the day its value was set (a date compared with today: the
later of that day and the day the comparison first held, e.g. the date - 30 for today+30d).

A rule moves a customer (--to STAGE), opens a CTA (--cta TYPE:REASON), or both, at most
once per customer per stay in its from-stage; the move is dated the day its conditions
became true. `clm explain SLUG` shows every condition of every rule for one customer.

Examples
  clm rule add stalled --from onboarding --when "days_in_stage >= 45" --cta risk:stalled
  clm rule add trained --from onboarding --to launched --when "milestone_done:Training"
""",
    ),
    "where": (
        "Filters: what `clm customer list --where` accepts",
        """\
A filter is one or more tests joined by `and`; several --where options must all hold.
  NAME OP VALUE       OP one of = != < <= > >= (< and > for numbers and dates)
  NAME is set         the customer has a value
  NAME is not set     it has none
NAME is a custom field (clm field list) or stage, source, arr, health, lead_score, start,
renewal. VALUE is a word, or 'quoted' / "quoted" when it has spaces ('' inside for a
quote); a date takes every DATE form (today, +30d, today+30d, today-14d, eoq). A value is
always data, never SQL: `segment = 'x'' OR 1=1'` looks for that very text. A comparison
(and !=) matches only customers that have a value.

Examples
  clm customer list --where 'seats >= 50' --fields slug,stage,seats
  clm customer list --where "segment = enterprise and renewal <= today+90d"
  clm customer list --where 'industry is not set' -f csv
""",
    ),
    "output": (
        "Output formats, streams and exit codes",
        """\
Every listing takes --format (-f) table, csv, tsv, json or jsonl. A table is drawn for a
terminal and plain text in a pipe; csv and tsv have a header row; json is one array (one
object for `show`); jsonl is one object a line. Dates are YYYY-MM-DD in every format.

Data goes to stdout; messages, progress and errors to stderr, so a pipe gets only data.
Exit codes: 0 success (an empty list too), 1 an error about the data (one line `Error: ...`
saying what was wrong and what is accepted; CLM_DEBUG=1 shows the traceback), 2 a usage
error (an unknown option, a missing argument). Destructive commands never prompt in a
pipe: they ask for --yes.

Examples
  clm customer list --stage renewal -f csv | cut -d, -f1,8
  clm export customers -o book.csv
""",
    ),
    "environment": (
        "Environment variables and global options",
        """\
  CLM_DB     the database: a file path or a URL (sqlite:///PATH, postgresql://HOST/NAME);
             --db overrides it; default: the user data dir (clm db path prints it)
  CLM_TODAY  the date clm takes as today (--today overrides it)
  CLM_USER   who you are: the author of changes, whose agenda `clm` and `clm my` show
             (--as overrides it); once the book has users, it must be one of them
  CLM_PAGER  the pager for long output on a terminal (then the config file's, $PAGER,
             less -FRX); empty or cat: none; --no-pager overrides it
  CLM_DATES  how tables show dates: iso (default) or a strftime pattern ('%d %b %Y');
             csv, tsv and json keep ISO
  CLM_CONFIG the config file (default: ~/.config/clm/config.toml; `clm config path`)
  CLM_DEBUG  1: show tracebacks instead of one-line errors
  CLM_BUSY_TIMEOUT  seconds a command waits for another's lock (default 15), on a file
             and on a server (lock_timeout); a server statement may take 20 times as long
  NO_COLOR   no colour in tables
The config file holds defaults under these variables and the options: database, user,
pager, dates, notify.smtp_url (`clm config list`; `clm config set user alice`).

Examples
  export CLM_DB=~/book.db CLM_USER=alice
  clm --today 2027-01-01 --as bob my
""",
    ),
    "limits": (
        "Limits on what clm stores and accepts",
        """\
  names, titles, slugs, handles, tags, sources   at most 500 characters each
  a note's text, a reason, an outcome            at most 10,000 characters
  ARR                                            0 to 10,000,000,000,000,000
  health, lead score                             0 to 100
  today (--today, CLM_TODAY)                     a day from 1900-01-01 to 2999-12-31
  tick --dry-run --until                         at most 3 years after today
  stored dates                                   any day to 9999-12-31
  durations, terms, --every, day counts in rules at most 100 years (36,500 days)
  one csv field, one JSON object of an import    at most 1,048,576 characters; a JSON
                                                 object gives each field once
The same limits hold on the command line, in imports and in merges of copies.
""",
    ),
    "server": (
        "PostgreSQL: the least rights of a member role",
        """\
The owner (who ran `clm init` or `clm db copy` to the server) creates the tables. A member
role needs only rights on the data, no CREATE: clm never changes the schema from a command
that reads, and a missing right is one `Error:` line naming it.

  GRANT CONNECT ON DATABASE clm TO alice;
  GRANT USAGE ON SCHEMA public TO alice;
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO alice;
  GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO alice;

Writers take one advisory lock (a transaction lock, released at commit); a writer that waits
longer than CLM_BUSY_TIMEOUT stops and names the session that holds it. Migrations need the
owner: run `clm db migrate` as the owner after an upgrade.
""",
    ),
}


def verbatim_examples(command) -> None:
    """Make each `Example:` of the help of `command` and its subcommands a paragraph of its
    own that Click prints as written (`\\b`): an example is never rewrapped into the text
    above it, nor broken in the middle of a command line."""
    text = command.help
    if text and "Example" in text and "\b" not in text:
        lines = []
        for line in text.splitlines():
            if line.startswith(("Example:", "Examples:")):
                if lines and lines[-1].strip():
                    lines.append("")
                lines.append("\b")
            lines.append(line)
        command.help = "\n".join(lines)
    for sub in getattr(command, "commands", {}).values():
        verbatim_examples(sub)


def topics_text() -> str:
    width = max(map(len, TOPICS))
    lines = [f"  {name:<{width}}  {summary}" for name, (summary, _) in TOPICS.items()]
    return "Help topics (clm help TOPIC):\n" + "\n".join(lines) + "\n"


def topic_text(name: str) -> str:
    summary, body = TOPICS[name]
    if name == "conditions":  # the fields rules can read, from their registry
        from clm.domain.engine.fields import conditions_help

        body = body.replace("{conditions}", conditions_help())
    return f"{summary}\n\n{body}"


def command_help(root, path: list[str], width: int | None = None) -> str:
    """What `clm PATH --help` prints (at `width` columns, for a reference that is the same
    on every machine), or raise NotFound with a suggestion (commands and topics)."""
    from clm.errors import NotFound, did_you_mean

    # Contexts made as a real invocation makes them (settings inherited from each parent),
    # parsing nothing, and each command built as a real invocation builds it (a lazy group
    # builds its subcommands on first use): the help is exactly what `--help` prints.
    ctx = root.make_context(
        "clm", [], resilient_parsing=True, terminal_width=width, max_content_width=width
    )
    command = root
    for depth, name in enumerate(path):
        get = getattr(command, "get_command", None)
        found = get(ctx, name) if get else None
        if found is None:
            names = command.list_commands(ctx) if get else []
            if depth == 0:
                raise NotFound(
                    f"no command or topic '{name}'{did_you_mean(name, [*names, *TOPICS])}"
                )
            where = " ".join(["clm", *path[:depth], name])
            raise NotFound(f"no command '{where}'{did_you_mean(name, names)}")
        command = found
        ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
    return command.get_help(ctx)


def help_sections(root, width: int):
    """(command path, help at `width` columns) of every command (of the Click `root`), in the
    order `clm --help` lists them: what the reference and the manual are made of."""

    def visit(command, path):
        yield path, command_help(root, path, width).rstrip()
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                yield from visit(sub, [*path, name])

    yield from visit(root, [])


def reference(root) -> str:
    """docs/reference.md: every command's help (of the Click `root`), in the order `clm --help`
    lists them."""
    parts = [
        "# Command reference\n\n"
        "Every command's `--help`, generated by `python docs/make_reference.py` (a test checks\n"
        "it is current). `clm help TOPIC` explains the grammar the commands share.\n"
    ]
    for path, text in help_sections(root, 80):
        parts.append(f"\n## {' '.join(['clm', *path])}\n\n```text\n{text}\n```\n")
    parts.append("\n## Help topics\n")
    for name in TOPICS:
        parts.append(f"\n### clm help {name}\n\n```text\n{topic_text(name).rstrip()}\n```\n")
    return "".join(parts)
