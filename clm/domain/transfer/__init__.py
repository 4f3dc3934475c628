"""Tables in and out: streamed export, validated all-or-nothing import, safe files.

The columns of each table, in SPEC.md's order, are the contract of both directions.
"""

COLUMNS = {
    "users": ("handle", "name", "email", "team", "default_owner", "uuid"),
    "customers": (
        "slug",
        "name",
        "stage",
        "stage_entered",
        "owner",
        "start",
        "renewal",
        "term",
        "arr",
        "health",
        "lead_score",
        "source",
        "tags",
        "influencers",
        "uuid",
    ),
    "milestones": (
        "id",
        "customer",
        "title",
        "due",
        "status",
        "remind",
        "every",
        "collaborators",
        "pinned",
        "blocked_reason",
        "done_on",
        "uuid",
        "reminded",
    ),
    "tasks": (
        "id",
        "customer",
        "title",
        "due",
        "status",
        "assignee",
        "milestone",
        "cta",
        "source",
        "uuid",
    ),
    "ctas": (
        "id",
        "customer",
        "type",
        "reason",
        "priority",
        "status",
        "owner",
        "due",
        "snoozed_until",
        "outcome",
        "source",
        "uuid",
    ),
    "contacts": ("id", "customer", "name", "role", "email", "phone", "primary", "left_on", "uuid"),
    "transitions": ("customer", "from", "to", "on", "by", "rule", "reason", "uuid"),
    "notes": ("customer", "on", "kind", "text", "by", "uuid"),
    "arr": ("customer", "on", "kind", "arr", "change", "uuid"),
    # Metric points in the long form `clm metric import` reads, so the file goes back in.
    "metrics": ("customer", "date", "metric", "value"),
    "log": (
        "id",
        "at",
        "by",
        "role",
        "command",
        "record",
        "customer",
        "field",
        "old",
        "new",
        "uuid",
    ),
}
# The columns an import reads: a user's also `removed`, the day a removed user was removed,
# as `export users --all` writes it (so a book's history imports whole).
READ_COLUMNS = COLUMNS | {"users": (*COLUMNS["users"], "removed")}
# The tables an import writes, in the order a whole book goes in (each refers to the ones
# before it). Transitions, notes, the ARR history, CTAs and the log are history and the
# engine's: export only (an import of customers writes the ARR history of what it changes).
IMPORTABLE = ("users", "customers", "milestones", "tasks", "contacts", "metrics")
# Columns holding a list: `;`-joined in csv and tsv, an array in json and jsonl.
LIST_COLUMNS = frozenset({"tags", "influencers", "remind", "collaborators", "reminded"})
FORMATS = ("csv", "tsv", "json", "jsonl")
