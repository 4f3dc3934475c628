"""The whole lifecycle model as one document: read it, write it as TOML, check a file, say what
applying it changes, and apply it inside the caller's write transaction.

`clm model export` writes this TOML (values that are not set are left out: TOML has no null);
`clm model apply` reads it back. Order matters: stages are numbered in the order they come,
rules are tried by the tick in the order they come, and a playbook's items run in order.

    entry_stage = "onboarding"        # the stage a customer added without --stage enters
    churn_reasons = ["budget", "competitor", "other"]  # entering a terminal stage needs one
    contact_roles = ["champion", "sponsor", "billing"]  # the roles `contact add --role` takes

    [[stages]]
    key = "onboarding"                # lowercase letters and digits joined by '-'
    name = "Onboarding"
    team = "customer-success"         # optional: the team that owns its customers
    expected_days = 30                # optional: the stage's SLA
    playbook = "onboarding"           # optional: run on entering the stage
    terminal = false                  # a final stage (churned)

    [[rules]]
    name = "launch"
    from = ["onboarding"]
    to = "launched"                   # optional: the stage it moves customers to
    when = ["days_in_stage >= 30"]    # every condition must hold
    cta = "risk:health below 40"      # optional: TYPE:REASON of a CTA to open
    playbook = "save"                 # optional: run with the CTA, or alone
    enabled = true
    churn_reason = "budget"           # a rule into a terminal stage: what its moves record

    [[playbooks]]
    name = "onboarding"
    description = "Deliver, install and train in the first month"
    on_start = false                  # true: applied to every customer added, from its start

    [[playbooks.items]]
    kind = "milestone"                # milestone, task or phase (a marker that passes by itself)
    title = "Product delivery"
    anchor = "entry"                  # entry (into the stage), start, renewal or run
    offset = "+14d"                   # due this long after the anchor
    remind = ["3d"]                   # optional, milestones: reminders before the due date
    every = "1y"                      # optional, milestones: recurrence
    milestone = "Product delivery"    # optional, tasks: the milestone item above it to go under

    [[teams]]
    name = "customer-success"
    assign = "round-robin"            # default-owner, round-robin or least-loaded

    [[holidays]]
    day = 2026-12-25
    name = "Christmas"                # optional

    [[metrics]]                       # usage metrics (clm metric): values are not in the file
    name = "active_users"             # lowercase letters, digits and '_'
    description = "Users a day"       # optional

    [scorecard]                       # optional: the tick scores health from usage metrics
    bands = { amber = 40, green = 70 }  # health below amber is red, from green on green

    [[scorecard.measures]]
    metric = "active_users"           # a metric of [[metrics]]
    weight = 2                        # its share among the measures with a value
    scale = [0, 50]                   # scored 0 at 0, 100 at 50 (or thresholds = [10, 40]:
                                      # below 10 scores 0, below 40 50, else 100)

    [[fields]]                        # custom fields on customers (clm field, --set NAME=VALUE)
    name = "segment"                  # lowercase letters, digits and '_'
    kind = "choice"                   # number, text, date, choice or bool
    choices = ["smb", "mid-market", "enterprise"]  # a choice's values
    description = "Market segment"    # optional

Fields and metrics the file leaves out are removed, except one customers hold values of (a
metric also one the file's rules or scorecard read): that is a problem, and nothing changes.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, select

from clm.db import get_meta, set_meta, utcnow
from clm.domain.holidays import set_holidays
from clm.domain.records import check_handle, new_row, update_row
from clm.domain.scorecard import (
    as_toml_table,
    check_scorecard,
    read_scorecard,
    scorecard_problems,
    set_scorecard,
)
from clm.domain.stages import (
    check_expected_days,
    check_stage_key,
    customers_in,
    default_stage_name,
    entry_stage,
    list_stages,
    live_stages,
)
from clm.errors import ClmError, Invalid, Problem, Problems, did_you_mean
from clm.storage.tables import playbook_items, playbooks, rules, stages

STAGE_FIELDS = ("key", "name", "team", "expected_days", "playbook", "terminal")
RULE_FIELDS = ("name", "from", "to", "when", "cta", "playbook", "enabled", "churn_reason")
PLAYBOOK_FIELDS = ("name", "description", "on_start")
ITEM_FIELDS = ("kind", "title", "anchor", "offset", "remind", "every", "milestone")
ITEM_KINDS = ("task", "milestone", "phase")
HEADER = (
    "# The lifecycle model of clm: stages in order, rules in the order the tick tries them,\n"
    "# playbooks, teams' assignment policies, holidays, metrics. Edit it, then: clm model apply "
    "FILE --dry-run\n\n"
)


def model_problems(problems: list[Problem]) -> Problems:
    """A model file with problems: every one of them, each with its place in the file."""
    n = len(problems)
    return Problems(problems, f"{n} problem{'s' if n > 1 else ''} in the model; nothing changed")


# --- reading and writing the document ------------------------------------------------------


def read_model(conn: Connection) -> dict:
    """The model in the database: entry stage, stages, rules, playbooks with items, holidays."""
    from clm.domain.engine.field_defs import field_defs
    from clm.domain.engine.rulebook import list_rules
    from clm.domain.holidays import list_holidays
    from clm.domain.metrics import metric_definitions
    from clm.domain.playbooks import playbook_items_of

    rows = conn.execute(
        select(playbooks).where(playbooks.c.deleted_at.is_(None)).order_by(playbooks.c.name)
    )
    from clm.domain.churn import churn_reasons
    from clm.domain.contacts import contact_roles
    from clm.domain.ownership import team_policies

    return {
        "entry_stage": entry_stage(conn),
        "churn_reasons": churn_reasons(conn),
        "contact_roles": contact_roles(conn),
        "stages": [{key: s[key] for key in STAGE_FIELDS} for s in list_stages(conn)],
        "rules": [{key: r[key] for key in RULE_FIELDS} for r in list_rules(conn)],
        "playbooks": [
            {key: getattr(row, key) for key in PLAYBOOK_FIELDS}
            | {"items": [{k: i[k] for k in ITEM_FIELDS} for i in playbook_items_of(conn, row.id)]}
            for row in rows
        ],
        "teams": team_policies(conn),
        "holidays": list(list_holidays(conn)),
        "metrics": metric_definitions(conn),
        "scorecard": read_scorecard(conn),
        "fields": [
            {"name": f.name, "kind": f.kind, "choices": list(f.choices),
             "description": f.description}
            for f in field_defs(conn).values()
        ],
    }  # fmt: skip


def as_json(model: dict) -> dict:
    """The model as `clm model show --format json` prints it: stages with their positions."""
    return {
        "entry_stage": model["entry_stage"],
        "churn_reasons": model["churn_reasons"],
        "contact_roles": model["contact_roles"],
        "stages": [
            {key: stage[key] for key in ("key", "name")}
            | {"position": position}
            | {key: stage[key] for key in STAGE_FIELDS[2:]}
            for position, stage in enumerate(model["stages"], start=1)
        ],
        "rules": model["rules"],
        "playbooks": model["playbooks"],
        "teams": model["teams"],
        "metrics": model["metrics"],
    }


def _set(table: dict) -> dict:
    """A TOML table: no None (TOML has no null) and no empty list of reminders."""
    return {key: value for key, value in table.items() if value is not None and value != []}


def to_toml(model: dict) -> str:
    import tomli_w

    document = {
        "entry_stage": model["entry_stage"],
        "churn_reasons": model["churn_reasons"],
        "contact_roles": model["contact_roles"],
        "stages": [_set(stage) for stage in model["stages"]],
        "rules": [_set(rule) for rule in model["rules"]],
        "playbooks": [
            _set({key: book[key] for key in PLAYBOOK_FIELDS})
            | {"items": [_set(item) for item in book["items"]]}
            for book in model["playbooks"]
        ],
        "teams": model["teams"],
        "holidays": [_set(holiday) for holiday in model["holidays"]],
        "scorecard": as_toml_table(model["scorecard"]) if model["scorecard"] else [],
        "fields": [_set(f) for f in model.get("fields", [])],
    }
    text = tomli_w.dumps({key: value for key, value in document.items() if value != []})
    # Each metric its own [[metrics]] table, as the header shows (tomli_w would inline them).
    for metric in model["metrics"]:
        text += "\n[[metrics]]\n" + tomli_w.dumps(_set(metric))
    return HEADER + text


def parse_toml(text: str, source: str) -> dict:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"{source} is not valid TOML: {exc}") from None


# --- checking a document -------------------------------------------------------------------

REQUIRED = object()
_KINDS = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    list: "a list of strings",
    date: "a date (YYYY-MM-DD)",
}


@dataclass
class Checked:
    """A document's model (the entries sound enough to write) and every problem found."""

    model: dict
    problems: list[Problem] = field(default_factory=list)
    rule_places: list[str] = field(default_factory=list)  # where each rule of `model` is


def _typed(value, kind):
    """`value` as `kind`, or None when it is not one (a lone string is a list of one)."""
    if kind is list:
        value = [value] if isinstance(value, str) else value
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is date and isinstance(value, str):
        try:
            value, ok = date.fromisoformat(value.strip()), True
        except ValueError:
            ok = False
    else:
        ok = isinstance(value, kind) and not (kind is date and hasattr(value, "hour"))
    return value if ok else None


def _take(
    table, place: str, fields: dict, problems: list[Problem], partial: bool = False
) -> dict | None:
    """The values of one TOML table by `fields` (name -> (type, default)), type-checked; None
    when it is not a table or a value has the wrong type or a required one is missing (unless
    `partial`: then a wrong value is its default, so the checks after it see the entry)."""
    if not isinstance(table, dict):
        problems.append(Problem(place, f"expected a table, not {table!r}"))
        return None
    sound = True
    for unknown in sorted(table.keys() - fields.keys()):
        problems.append(Problem(place, f"unknown key '{unknown}': use {', '.join(fields)}"))
        sound = False
    values = {}
    for name, (kind, default) in fields.items():
        if name not in table:
            if default is REQUIRED:
                problems.append(Problem(place, f"missing {name}"))
                sound = False
            values[name] = None if default is REQUIRED else default
            continue
        value = _typed(table[name], kind)
        if value is None:
            problems.append(
                Problem(f"{place}.{name}", f"expected {_KINDS[kind]}, not {table[name]!r}")
            )
            sound = False
            value = None if default is REQUIRED else default
        values[name] = value
    return values if sound or (partial and values.get("key") is not None) else None


def _array(document: dict, name: str, problems: list[Problem]) -> list:
    value = document.get(name, [])
    if not isinstance(value, list):
        problems.append(Problem(name, f"expected an array of tables ([[{name}]]), not {value!r}"))
        return []
    return value


def _checking(problems: list[Problem], place: str, check: Callable, *args):
    """`check(*args)`, or None with its ClmError recorded as a problem at `place`."""
    try:
        return check(*args)
    except ClmError as exc:
        problems.append(Problem(place, str(exc)))
        return None


def _unique(key: str, kind: str, places: dict, place: str, problems: list[Problem]) -> bool:
    """False (and a problem) when another entry already has this key."""
    if key in places:
        problems.append(Problem(place, f"duplicate {kind} '{key}' (also {places[key]})"))
        return False
    places[key] = place
    return True


STAGE_TABLE = {
    "key": (str, REQUIRED),
    "name": (str, None),
    "team": (str, None),
    "expected_days": (int, None),
    "playbook": (str, None),
    "terminal": (bool, False),
}
RULE_TABLE = {
    "name": (str, REQUIRED),
    "from": (list, REQUIRED),
    "to": (str, None),
    "when": (list, REQUIRED),
    "cta": (str, None),
    "playbook": (str, None),
    "enabled": (bool, True),
    "churn_reason": (str, None),
}
PLAYBOOK_TABLE = {
    "name": (str, REQUIRED),
    "description": (str, None),
    "on_start": (bool, False),
    "items": (object, []),
}
ITEM_TABLE = {
    "kind": (str, REQUIRED),
    "title": (str, REQUIRED),
    "anchor": (str, "entry"),
    "offset": (str, "0d"),
    "remind": (list, []),
    "every": (str, None),
    "milestone": (str, None),
}
HOLIDAY_TABLE = {"day": (date, REQUIRED), "name": (str, None)}
TEAM_TABLE = {"name": (str, REQUIRED), "assign": (str, "default-owner")}
FIELD_TABLE = {
    "name": (str, REQUIRED),
    "kind": (str, REQUIRED),
    "choices": (list, []),
    "description": (str, None),
}
FIELD_FIELDS = tuple(FIELD_TABLE)
METRIC_TABLE = {"name": (str, REQUIRED), "description": (str, None)}
TOP_LEVEL = (
    "entry_stage", "churn_reasons", "contact_roles", "stages", "rules", "playbooks", "teams",
    "holidays", "metrics", "scorecard", "fields",
)  # fmt: skip


def check_document(document: dict) -> Checked:
    """Every problem of a model document that the document alone shows, each with its place
    (`rules[2].when[0]: …`), and the model made of its sound entries."""
    problems: list[Problem] = []
    for unknown in sorted(document.keys() - set(TOP_LEVEL)):
        problems.append(Problem(unknown, f"unknown key: use {', '.join(TOP_LEVEL)}"))
    books = _check_playbooks(_array(document, "playbooks", problems), problems)
    names = [book["name"] for book in books]
    stage_list = _check_stages(_array(document, "stages", problems), names, problems)
    keys = [stage["key"] for stage in stage_list]
    entry = document.get("entry_stage")
    if not isinstance(entry, str):
        problems.append(Problem("entry_stage", "missing: name the stage customers added enter"))
    elif entry.strip().lower() not in keys:
        problems.append(
            Problem("entry_stage", f"no stage '{entry}' in the file{did_you_mean(entry, keys)}")
        )
    places: list[str] = []
    field_list = _check_fields(_array(document, "fields", problems), problems)
    custom = {f["name"]: _as_def(f) for f in field_list}
    rule_list = _check_rules(_array(document, "rules", problems), places, problems, custom)
    holiday_list = _check_holidays(_array(document, "holidays", problems), problems)
    team_list = _check_teams(_array(document, "teams", problems), problems)
    model = {
        "entry_stage": entry.strip().lower() if isinstance(entry, str) else None,
        "churn_reasons": _check_churn_reasons(document, problems),
        "contact_roles": _check_contact_roles(document, problems),
        "stages": stage_list,
        "rules": rule_list,
        "playbooks": books,
        "teams": team_list,
        "holidays": holiday_list,
        "scorecard": (
            check_scorecard(document["scorecard"], problems) if "scorecard" in document else None
        ),
        "metrics": _check_metrics(_array(document, "metrics", problems), custom, problems),
        "fields": field_list,
    }
    return Checked(model, problems, places)


def _check_metrics(tables: list, custom: dict, problems: list[Problem]) -> list[dict]:
    """The file's metrics: names a metric may have, none twice, none a field's of the file."""
    from clm.domain.metrics import check_metric_name

    found, seen = [], {}
    for i, table in enumerate(tables):
        place = f"metrics[{i}]"
        entry = _take(table, place, METRIC_TABLE, problems)
        if entry is None:
            continue
        name = _checking(problems, f"{place}.name", check_metric_name, entry["name"])
        if name is None or not _unique(name, "metric", seen, place, problems):
            continue
        if name in custom:
            problems.append(
                Problem(f"{place}.name", f"field '{name}' of the file has this name: a rule's "
                        f"'{name} >= 10' could not tell them apart")
            )  # fmt: skip
            continue
        found.append({"name": name, "description": entry["description"]})
    return found


def _check_fields(tables: list, problems: list[Problem]) -> list[dict]:
    from clm.domain.custom_fields import check_definition

    found, seen = [], {}
    for i, table in enumerate(tables):
        place = f"fields[{i}]"
        entry = _take(table, place, FIELD_TABLE, problems)
        if entry is None:
            continue
        checked = _checking(
            problems, place, check_definition, entry["name"], entry["kind"], entry["choices"]
        )
        if checked is None or not _unique(checked[0], "field", seen, place, problems):
            continue
        name, kind, joined = checked
        found.append(
            {"name": name, "kind": kind, "choices": joined.split(";") if joined else [],
             "description": entry["description"]}
        )  # fmt: skip
    return found


def _as_def(entry: dict):
    """A field of the file as the rules' conditions read it (it has no id before it is
    written)."""
    from clm.domain.engine.field_defs import FieldDef

    return FieldDef(0, entry["name"], entry["kind"], tuple(entry["choices"]), None)


def _check_churn_reasons(document: dict, problems: list[Problem]) -> list[str]:
    """The file's churn reasons; the default list when it has none."""
    from clm.domain.churn import check_reasons
    from clm.lifecycle import CHURN_REASONS

    if "churn_reasons" not in document:
        return list(CHURN_REASONS)
    reasons = _typed(document["churn_reasons"], list)
    if reasons is None:
        problems.append(
            Problem(
                "churn_reasons", f"expected a list of strings, not {document['churn_reasons']!r}"
            )
        )
        return list(CHURN_REASONS)
    return _checking(problems, "churn_reasons", check_reasons, reasons) or list(CHURN_REASONS)


def _check_contact_roles(document: dict, problems: list[Problem]) -> list[str]:
    """The roles a contact may have; the default list when the file lists none."""
    from clm.domain.contacts import check_roles
    from clm.lifecycle import CONTACT_ROLES as ROLES

    if "contact_roles" not in document:
        return list(ROLES)
    roles = _typed(document["contact_roles"], list)
    if roles is None or not all(isinstance(role, str) for role in roles):
        problems.append(
            Problem(
                "contact_roles", f"expected a list of strings, not {document['contact_roles']!r}"
            )
        )
        return list(ROLES)
    return _checking(problems, "contact_roles", check_roles, roles) or list(ROLES)


def _check_stages(tables: list, playbook_names: list[str], problems: list[Problem]) -> list[dict]:
    found, seen = [], {}
    if not tables:
        problems.append(Problem("stages", "the model needs at least one stage ([[stages]])"))
    for i, table in enumerate(tables):
        place = f"stages[{i}]"
        # A stage with one wrong value is still the stage the rules name: one problem, not one
        # for each rule that names it.
        stage = _take(table, place, STAGE_TABLE, problems, partial=True)
        if stage is None:
            continue
        key = _checking(problems, f"{place}.key", check_stage_key, stage["key"])
        if key is None or not _unique(key, "stage", seen, place, problems):
            continue
        stage["key"] = key
        if stage["name"] is None:
            stage["name"] = default_stage_name(key)
        elif not stage["name"].strip():
            problems.append(Problem(f"{place}.name", "a stage name cannot be empty"))
        stage["name"] = stage["name"].strip() or default_stage_name(key)
        if stage["team"] is not None:
            stage["team"] = _checking(
                problems, f"{place}.team", check_handle, stage["team"], "team"
            )
        _checking(problems, f"{place}.expected_days", check_expected_days, stage["expected_days"])
        if stage["playbook"] is not None:
            stage["playbook"] = stage["playbook"].strip().lower()
            if stage["playbook"] not in playbook_names:
                hint = did_you_mean(stage["playbook"], playbook_names)
                problems.append(
                    Problem(f"{place}.playbook", f"no playbook '{stage['playbook']}'{hint}")
                )
        found.append(stage)
    return found


def _check_rules(
    tables: list, places: list[str], problems: list[Problem], custom: dict
) -> list[dict]:
    from clm.domain.churn import reason_key
    from clm.domain.engine.conditions import parse_condition

    found, seen = [], {}
    for i, table in enumerate(tables):
        place = f"rules[{i}]"
        rule = _take(table, place, RULE_TABLE, problems)
        if rule is None:
            continue
        rule["name"] = rule["name"].strip().lower()
        if not _unique(rule["name"], "rule", seen, place, problems):
            continue
        rule["from"] = [key.strip().lower() for key in rule["from"]]
        rule["to"] = rule["to"].strip().lower() if rule["to"] else rule["to"]
        rule["cta"] = rule["cta"].strip() if rule["cta"] is not None else None
        rule["playbook"] = rule["playbook"].strip().lower() if rule["playbook"] else None
        if rule["churn_reason"] is not None:
            rule["churn_reason"] = reason_key(rule["churn_reason"])
        for j, text in enumerate(rule["when"]):
            condition = _checking(problems, f"{place}.when[{j}]", parse_condition, text, custom)
            rule["when"][j] = str(condition) if condition else text
        found.append(rule)
        places.append(place)
    return found


def _check_playbooks(tables: list, problems: list[Problem]) -> list[dict]:
    from clm.domain.playbooks import ANCHORS

    found, seen = [], {}
    for i, table in enumerate(tables):
        place = f"playbooks[{i}]"
        book = _take(table, place, PLAYBOOK_TABLE, problems)
        if book is None:
            continue
        name = _checking(problems, f"{place}.name", check_handle, book["name"], "playbook name")
        if name is None or not _unique(name, "playbook", seen, place, problems):
            continue
        book["name"] = name
        items = book["items"]
        if not isinstance(items, list):
            problems.append(
                Problem(f"{place}.items", "expected an array of tables ([[playbooks.items]])")
            )
            items = []
        book["items"] = []
        for j, table in enumerate(items):
            item = _check_item(table, f"{place}.items[{j}]", book["items"], ANCHORS, problems)
            if item is not None:
                book["items"].append(item)
        found.append(book)
    return found


def _check_item(table, place: str, before: list[dict], anchors, problems: list[Problem]):
    from clm.dates import parse_duration, parse_every, parse_offset

    item = _take(table, place, ITEM_TABLE, problems)
    if item is None:
        return None
    if item["kind"] not in ITEM_KINDS:
        problems.append(
            Problem(f"{place}.kind", f"invalid kind '{item['kind']}': use task, milestone or phase")
        )
    if not item["title"].strip():
        problems.append(Problem(f"{place}.title", "an item needs a title"))
    item["title"] = item["title"].strip()
    if item["anchor"] not in anchors:
        problems.append(
            Problem(
                f"{place}.anchor",
                f"invalid anchor '{item['anchor']}': use {', '.join(anchors)}",
            )
        )
    item["offset"] = item["offset"].strip()
    _checking(problems, f"{place}.offset", parse_offset, item["offset"], "offset")
    item["remind"] = [text.strip() for text in item["remind"]]
    for k, text in enumerate(item["remind"]):
        _checking(problems, f"{place}.remind[{k}]", parse_duration, text, "reminder")
    if item["every"] is not None:
        every = _checking(problems, f"{place}.every", parse_every, item["every"])
        item["every"] = str(every) if every else item["every"]
    if item["kind"] in ("task", "phase") and (item["remind"] or item["every"] is not None):
        problems.append(
            Problem(place, f"a {item['kind']} has no reminders or recurrence (milestones do)")
        )
    if item["milestone"] is not None:
        titles = [i["title"] for i in before if i["kind"] not in ("task", "phase")]
        if item["kind"] != "task":
            problems.append(Problem(f"{place}.milestone", "only a task goes under a milestone"))
        elif item["milestone"] not in titles:
            problems.append(
                Problem(
                    f"{place}.milestone",
                    f"no milestone item '{item['milestone']}' above it "
                    f"in this playbook{did_you_mean(item['milestone'], titles)}",
                )
            )
    return item


def _check_holidays(tables: list, problems: list[Problem]) -> list[dict]:
    found, seen = [], {}
    for i, table in enumerate(tables):
        place = f"holidays[{i}]"
        holiday = _take(table, place, HOLIDAY_TABLE, problems)
        if holiday is not None and _unique(
            holiday["day"].isoformat(), "holiday", seen, place, problems
        ):
            found.append(holiday)
    return sorted(found, key=lambda h: h["day"])


def _check_teams(tables: list, problems: list[Problem]) -> list[dict]:
    """The teams' assignment policies (a team may have members and no stage: it need not be
    one of the file's stages' teams), by name."""
    from clm.domain.ownership import check_policy

    found, seen = [], {}
    for i, table in enumerate(tables):
        place = f"teams[{i}]"
        team = _take(table, place, TEAM_TABLE, problems)
        if team is None:
            continue
        name = _checking(problems, f"{place}.name", check_handle, team["name"], "team")
        assign = _checking(problems, f"{place}.assign", check_policy, team["assign"])
        if name and assign and _unique(name, "team", seen, place, problems):
            found.append({"name": name, "assign": assign})
    return sorted(found, key=lambda team: team["name"])


# --- the difference ------------------------------------------------------------------------


def _shown(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _compare(
    kind: str, key: str, old: list[dict], new: list[dict], fields, ordered: bool = False
) -> list[dict]:
    """Entries added, changed (field by field) and removed, matched by `key`; and when
    `ordered` (the stages' positions, the rules' tick order), a change of the order of those
    in both."""
    before = {entry[key]: entry for entry in old}
    after = {entry[key]: entry for entry in new}
    changes = []
    for name, entry in after.items():
        if name not in before:
            shown = [
                f"{f} {len(entry[f]) if f == 'items' else _shown(entry[f])}"
                for f in fields
                if entry.get(f) not in (None, [])
            ]
            changes.append(_change("added", kind, name, ", ".join(shown)))
            continue
        diff = [
            _field_change(f, before[name][f], entry[f])
            for f in fields
            if before[name][f] != entry[f]
        ]
        if diff:
            changes.append(_change("changed", kind, name, "; ".join(diff)))
    changes += [_change("removed", kind, name, "") for name in before if name not in after]
    kept_old = [name for name in before if name in after]
    kept_new = [name for name in after if name in before]
    if ordered and kept_old != kept_new:
        changes.append(
            _change("changed", kind, "(order)", f"{', '.join(kept_old)} → {', '.join(kept_new)}")
        )
    return changes


def _field_change(field: str, old, new) -> str:
    """`team: sales → marketing`; for a playbook's items, those gone (-) and come (+)."""
    if field != "items":
        return f"{field}: {_shown(old)} → {_shown(new)}"
    parts = [f"- {item}" for item in old if item not in new]
    parts += [f"+ {item}" for item in new if item not in old]
    return "items: " + ("; ".join(parts) if parts else "reordered")


def _change(change: str, kind: str, name: str, detail: str) -> dict:
    return {"change": change, "kind": kind, "name": name, "detail": detail}


def model_changes(old: dict, new: dict) -> list[dict]:
    """What replacing the model `old` with `new` changes, one row per stage, rule, playbook,
    holiday or entry stage: `change` (added, changed, removed), `kind`, `name`, `detail`."""
    changes = []
    if old["entry_stage"] != new["entry_stage"]:
        detail = f"{old['entry_stage']} → {new['entry_stage']}"
        changes.append(_change("changed", "entry_stage", new["entry_stage"], detail))
    if old["churn_reasons"] != new["churn_reasons"]:
        detail = f"{_shown(old['churn_reasons'])} → {_shown(new['churn_reasons'])}"
        changes.append(_change("changed", "churn_reasons", "", detail))
    if old["contact_roles"] != new["contact_roles"]:
        detail = f"{_shown(old['contact_roles'])} → {_shown(new['contact_roles'])}"
        changes.append(_change("changed", "contact_roles", "", detail))
    changes += _compare("stage", "key", old["stages"], new["stages"], STAGE_FIELDS[1:], True)
    changes += _compare("rule", "name", old["rules"], new["rules"], RULE_FIELDS[1:], True)
    fields = (*PLAYBOOK_FIELDS[1:], "items")
    changes += _compare("playbook", "name", _items_as_text(old), _items_as_text(new), fields)
    changes += _compare("team", "name", old["teams"], new["teams"], ("assign",))
    changes += _compare("holiday", "day", _days_as_text(old), _days_as_text(new), ("name",))
    changes += _compare("metric", "name", old["metrics"], new["metrics"], ("description",))
    if old["scorecard"] != new["scorecard"]:
        detail = f"{_card_text(old['scorecard'])} → {_card_text(new['scorecard'])}"
        changes.append(_change("changed", "scorecard", "", detail))
    changes += _compare("field", "name", old["fields"], new["fields"], FIELD_FIELDS[1:])
    return changes


def _card_text(card) -> str:
    if card is None:
        return "none"
    return ", ".join(f"{m.metric} x{m.weight:g}" for m in card.measures)


def _items_as_text(model: dict) -> list[dict]:
    return [{**book, "items": list(map(_item_text, book["items"]))} for book in model["playbooks"]]


def _days_as_text(model: dict) -> list[dict]:
    return [{**holiday, "day": holiday["day"].isoformat()} for holiday in model["holidays"]]


def _item_text(item: dict) -> str:
    """One playbook item in a line: `milestone 'Renewal' start +1y remind [2m] every 1y`."""
    text = f"{item['kind']} '{item['title']}' {item['anchor']} {item['offset']}"
    if item["remind"]:
        text += f" remind {_shown(item['remind'])}"
    if item["every"]:
        text += f" every {item['every']}"
    if item["milestone"]:
        text += f" under '{item['milestone']}'"
    return text


# --- applying ------------------------------------------------------------------------------


def apply_model(conn: Connection, document: dict) -> list[dict]:
    """Replace the database's model with the document's, in the caller's transaction, and
    return what changed (see `model_changes`). Every problem is collected first, the rules
    checked against the document's own stages and playbooks; any problem raises
    `Problems` (the caller's transaction then rolls back: nothing changes)."""
    checked = check_document(document)
    model, problems = checked.model, checked.problems
    current = read_model(conn)
    keys = {stage["key"] for stage in model["stages"]}
    for stage in current["stages"]:
        count = customers_in(conn, stage["key"]) if stage["key"] not in keys else 0
        if count:
            problems.append(
                Problem(
                    "stages",
                    f"the file removes stage '{stage['key']}' but {count} customer"
                    f"{' is' if count == 1 else 's are'} in it: keep it, or move them first",
                )
            )
    # The rules are checked against the new stages, playbooks, churn reasons and fields: write
    # those first (a problem rolls them back).
    from clm.domain.churn import set_churn_reasons
    from clm.domain.contacts import contacts_holding, set_contact_roles
    from clm.domain.custom_fields import write_fields
    from clm.domain.metrics import remove_unlisted_metrics, write_metrics

    for role in current["contact_roles"]:
        held = contacts_holding(conn, role) if role not in model["contact_roles"] else 0
        if held:
            problems.append(
                Problem(
                    "contact_roles",
                    f"the file removes role '{role}' but {held} contact"
                    f"{' has' if held == 1 else 's have'} it: keep it, or change theirs first",
                )
            )

    _write_stages(conn, model["stages"])
    _write_playbooks(conn, model["playbooks"])
    set_churn_reasons(conn, model["churn_reasons"])
    set_contact_roles(conn, model["contact_roles"])
    # Metrics the file leaves out go before the fields are written, the file's new ones after:
    # a name may pass from one to the other.
    names = {metric["name"] for metric in model["metrics"]}
    problems += remove_unlisted_metrics(conn, names, _metric_readers(model))
    problems += write_fields(conn, model["fields"])
    problems += write_metrics(conn, model["metrics"])
    problems += _rule_problems(conn, model["rules"], checked.rule_places)
    if model["scorecard"] is not None:
        problems += scorecard_problems(conn, model["scorecard"])
    if problems:
        raise model_problems(sorted(problems, key=_place_order))
    _write_rules(conn, model["rules"])
    if current["holidays"] != model["holidays"]:
        set_holidays(conn, model["holidays"])
    from clm.domain.ownership import set_policies

    if current["teams"] != model["teams"]:
        set_policies(conn, model["teams"])
    set_scorecard(conn, model["scorecard"])
    if get_meta(conn, "entry_stage") != model["entry_stage"]:
        set_meta(conn, "entry_stage", model["entry_stage"])
    return model_changes(current, model)


def _metric_readers(model: dict) -> dict[str, str]:
    """The metrics the file's rules and scorecard read: metric -> the first that reads it."""
    from clm.domain.engine.conditions import parse_condition
    from clm.domain.engine.metric_conditions import MetricCondition

    custom = {f["name"]: _as_def(f) for f in model["fields"]}
    readers = {}
    for rule in model["rules"]:
        for text in rule["when"]:
            try:
                condition = parse_condition(text, custom)
            except ClmError:
                continue  # reported at its place
            if isinstance(condition, MetricCondition):
                readers.setdefault(condition.field, f"rule '{rule['name']}'")
    for measure in model["scorecard"].measures if model["scorecard"] else ():
        readers.setdefault(measure.metric, "the scorecard")
    return readers


def _place_order(problem: Problem) -> tuple[int, int]:
    """Problems in the order of the file: by section, then by entry (`rules[10]` after `[2]`)."""
    section, _, rest = problem.place.partition("[")
    order = TOP_LEVEL.index(section) if section in TOP_LEVEL else -1
    return order, int(rest.partition("]")[0]) if rest else -1


def _rule_problems(conn: Connection, rule_list: list[dict], places: list[str]) -> list[Problem]:
    from clm.domain.engine.conditions import parse_condition
    from clm.domain.engine.field_defs import field_defs
    from clm.domain.engine.rulebook import rule_problems

    problems, custom = [], field_defs(conn)
    for place, rule in zip(places, rule_list, strict=True):
        located = set()  # a bad condition is reported at its own place already
        for text in rule["when"]:
            try:
                parse_condition(text, custom)
            except ClmError as exc:
                located.add(str(exc))
        found = rule_problems(
            conn,
            rule["name"],
            rule["from"],
            rule["to"],
            rule["when"],
            rule["cta"],
            rule["playbook"],
            rule["churn_reason"],
        )
        problems += [
            Problem(place, problem.message) for problem in found if problem.message not in located
        ]
    return problems


def _write_stages(conn: Connection, stage_list: list[dict]) -> None:
    rows = {row.key: row for row in live_stages(conn)}
    keep = {stage["key"] for stage in stage_list}
    for key, row in rows.items():
        if key not in keep:
            update_row(conn, stages, row, {"deleted_at": utcnow()})
    for position, stage in enumerate(stage_list, start=1):
        values = {key: stage[key] for key in STAGE_FIELDS[1:]} | {"position": position}
        row = rows.get(stage["key"])
        if row is None:
            conn.execute(stages.insert().values(new_row(conn, key=stage["key"], **values)))
        else:
            changes = {key: value for key, value in values.items() if getattr(row, key) != value}
            update_row(conn, stages, row, changes)


def _write_playbooks(conn: Connection, books: list[dict]) -> None:
    from clm.domain.playbooks import insert_items, playbook_items_of

    rows = {
        row.name: row
        for row in conn.execute(select(playbooks).where(playbooks.c.deleted_at.is_(None)))
    }
    names = {book["name"] for book in books}
    for name, row in rows.items():
        if name not in names:
            _remove_items(conn, row.id)
            update_row(conn, playbooks, row, {"deleted_at": utcnow()})
    for book in books:
        values = {key: book[key] for key in PLAYBOOK_FIELDS[1:]}
        row = rows.get(book["name"])
        if row is None:
            inserted = conn.execute(
                playbooks.insert().values(new_row(conn, name=book["name"], **values))
            )
            insert_items(conn, inserted.inserted_primary_key[0], book["items"])
            continue
        changes = {key: value for key, value in values.items() if getattr(row, key) != value}
        update_row(conn, playbooks, row, changes)
        items = [
            {key: item[key] for key in ITEM_FIELDS} for item in playbook_items_of(conn, row.id)
        ]
        if items != book["items"]:
            _remove_items(conn, row.id)
            insert_items(conn, row.id, book["items"])


def _remove_items(conn: Connection, playbook_id: int) -> None:
    query = select(playbook_items).where(
        playbook_items.c.playbook_id == playbook_id, playbook_items.c.deleted_at.is_(None)
    )
    for row in conn.execute(query).all():
        update_row(conn, playbook_items, row, {"deleted_at": utcnow()})


def _write_rules(conn: Connection, rule_list: list[dict]) -> None:
    from clm.domain.engine.rulebook import list_rules

    rows = {
        row.name: row for row in conn.execute(select(rules).where(rules.c.deleted_at.is_(None)))
    }
    current = {rule["name"]: rule for rule in list_rules(conn)}
    names = {rule["name"] for rule in rule_list}
    for name, row in rows.items():
        if name not in names:
            update_row(conn, rules, row, {"deleted_at": utcnow()})
    for position, rule in enumerate(rule_list, start=1):
        columns = {
            "from_stages": ";".join(rule["from"]),
            "to_stage": rule["to"],
            "conditions": json.dumps(rule["when"]),
            "cta": rule["cta"],
            "playbook": rule["playbook"],
            "enabled": rule["enabled"],
            "churn_reason": rule["churn_reason"],
            "position": position,
        }
        row = rows.get(rule["name"])
        if row is None:
            conn.execute(rules.insert().values(new_row(conn, name=rule["name"], **columns)))
            continue
        changes = _rule_changes(row, current[rule["name"]], rule, columns)
        update_row(conn, rules, row, changes)


def _rule_changes(row, old: dict, new: dict, columns: dict) -> dict:
    """The columns of a rule row to write: those of the fields that differ, and its position."""
    field_of = {"from_stages": "from", "to_stage": "to", "conditions": "when"}
    changes = {
        column: value
        for column, value in columns.items()
        if column != "position"
        and old[field_of.get(column, column)] != new[field_of.get(column, column)]
    }
    if row.position != columns["position"]:
        changes["position"] = columns["position"]
    return changes


# --- the picture ---------------------------------------------------------------------------


def edges(model: dict, team: str | None = None) -> list[dict]:
    """One arrow per rule and from-stage: `rule, from, to, when, cta, playbook, enabled`, and
    with `team`, its `role` for that team: `hands off` (from its stage to another team's),
    `receives` (from another team's into its own), `works` (within its own), or None."""
    team_of = {stage["key"]: stage["team"] for stage in model["stages"]}
    arrows = []
    for rule in model["rules"]:
        for source in rule["from"]:
            arrow = {"rule": rule["name"], "from": source} | {
                key: rule[key] for key in RULE_FIELDS[2:]
            }
            if team is not None:
                mine, theirs = team_of.get(source) == team, team_of.get(rule["to"]) == team
                if rule["to"] is None or mine == theirs:
                    arrow["role"] = "works" if mine and (theirs or rule["to"] is None) else None
                else:
                    arrow["role"] = "hands off" if mine else "receives"
            arrows.append(arrow)
    return arrows


def teams(model: dict) -> list[str]:
    return sorted({stage["team"] for stage in model["stages"] if stage["team"]})
