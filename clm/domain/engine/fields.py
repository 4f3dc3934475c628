"""What rules can read on a customer: one entry per field, read by the condition parser, the
SQL compiler, `explain`, the help topic and completion. A new field a rule can read is one
entry here (and its column).

Plain data, no SQLAlchemy: `clm help conditions` and completion read it at the cost of a bare
Python."""

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from clm.errors import Invalid
from clm.lifecycle import MOVE_TARGETS, PREVIOUS  # noqa: F401 (the registry names them)

MAX_DAYS = 36_500  # a century: any more and the day bound leaves the calendar


@dataclass(frozen=True)
class RuleField:
    """A number a condition compares (`FIELD OP NUMBER`).

    `measure` says how the number comes from the customer row:
    - "value": the column itself (a metric); `changed_on` names the column holding the day
      it last changed, as `--today` saw it;
    - "days_since": today minus the date in the column;
    - "days_until": the date in the column minus today.
    `changed_as` names the timeline entries (notes of that kind) that date an edit of a date
    column: a moved date holds from the move on."""

    name: str
    column: str
    measure: Literal["value", "days_since", "days_until"]
    description: str
    whole: bool = True  # whole numbers only
    bounds: tuple[float, float] | None = None  # the values a condition may compare with
    changed_on: str | None = None
    changed_as: str | None = None

    @property
    def counts_days(self) -> bool:
        return self.measure != "value"


FIELDS: dict[str, RuleField] = {
    field.name: field
    for field in (
        RuleField(
            "days_in_stage", "stage_entered", "days_since",
            "days since the customer entered its stage", bounds=(-MAX_DAYS, MAX_DAYS),
        ),
        RuleField(
            "days_since_start", "start", "days_since", "days since its start date",
            bounds=(-MAX_DAYS, MAX_DAYS), changed_as="start",
        ),
        RuleField(
            "days_to_renewal", "renewal", "days_until", "days until its renewal date",
            bounds=(-MAX_DAYS, MAX_DAYS), changed_as="renewal",
        ),
        RuleField("health", "health", "value", "health, 0-100", changed_on="health_on"),
        RuleField(
            "lead_score", "lead_score", "value", "lead score, 0-100", changed_on="lead_score_on"
        ),
        RuleField(
            "arr", "arr", "value", "annual recurring revenue", whole=False, changed_on="arr_on"
        ),
    )
}  # fmt: skip


def with_change_days(changes: dict, today) -> dict:
    """`changes` to customer columns, with the day each changed field a rule reads changed
    (`health` -> `health_on`): the day a rule on it became true. Every writer of those
    fields (edit, import) stamps them through this."""
    return changes | {
        field.changed_on: today
        for field in FIELDS.values()
        if field.changed_on and field.column in changes
    }


# Conditions on the customer's milestones, by title: `milestone_done:Kick-off`.
MILESTONE_KINDS = {
    "milestone_done": "a milestone with this title is done",
    "milestone_overdue": "a milestone with this title is past due and not done",
}
OPERATORS = ("<", "<=", ">", ">=", "=", "!=")
# Conditions on a usage metric's values (clm.domain.engine.metric_conditions compiles them).
METRIC_FORMS = {
    "METRIC OP NUMBER": "its latest value (active_users >= 10)",
    "METRIC change OP N% over Nd": "its change since N days ago (change <= -30% over 30d)",
    "METRIC stale Nd": "no value for N days (active_users stale 14d)",
}
# Conditions on the health band (clm.domain.engine.band_conditions compiles them).
BAND_FORMS = {
    "band = BAND": "its health's band now: red, amber, green (also !=)",
    "band changed [from B] [to B]": "its band changed in the stay (band from green to amber)",
}
# A metric condition may ask that it has held a while: `health >= 70 for 14d` holds once health
# has been at least 70 for 14 days in the customer's current stay.
FOR_DAYS = "for Nd"


CONDITION_FORMS = (
    f"FIELD OP NUMBER [{FOR_DAYS}] with FIELD one of {', '.join(FIELDS)} and OP one of "
    f"{' '.join(OPERATORS)} ({FOR_DAYS}: a metric held N days); "
    f"or {', '.join(f'{kind}:TITLE' for kind in MILESTONE_KINDS)}; "
    "or CUSTOM_FIELD OP VALUE; or contact_left:ROLE; or band = BAND, "
    "band changed [from BAND] [to BAND]"
)


def conditions_help() -> str:
    """The FIELD and milestone lines of `clm help conditions`, from the registry."""
    width = max(map(len, FIELDS))
    lines = [f"  OP      {' '.join(OPERATORS)}"]
    for i, field in enumerate(FIELDS.values()):
        lines.append(
            f"  {'FIELD' if i == 0 else '':<6}  {field.name:<{width}}  {field.description}"
        )
    lines.append(
        f"  {FOR_DAYS:<6}  after a metric's condition: it has held N days in the stage "
        "(health >= 70 for 14d)"
    )
    lines.append("Or a milestone, by title (done, or gone overdue, in the current stay):")
    width = max(len(kind) for kind in MILESTONE_KINDS) + len(":TITLE")
    lines += [f"  {kind + ':TITLE':<{width}}  {text}" for kind, text in MILESTONE_KINDS.items()]
    lines.append("Or a usage metric (clm metric add), by name:")
    lines += [f"  {form:<27}  {text}" for form, text in METRIC_FORMS.items()]
    lines.append("Or the health band (health against the scorecard's bands, 40 and 70 without")
    lines.append("one), dated from the health history (the day the band began or changed):")
    lines += [f"  {form:<28}  {text}" for form, text in BAND_FORMS.items()]
    return "\n".join(lines)


DATA_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)


def data_name(text: str, noun: str, reserved: Collection[str]) -> str:
    """The name of data rules read beside the fields above (a metric, a custom field):
    lowercase letters, digits and '_', and not a word clm reads already."""
    name = text.strip().lower()
    if not DATA_NAME.fullmatch(name):
        raise Invalid(
            f"invalid {noun} name '{text}': use lowercase letters, digits and '_', starting "
            "with a letter (up to 64)"
        )
    if name in reserved:
        raise Invalid(f"invalid {noun} name '{text}': {name} is a word clm reads; pick another")
    return name
