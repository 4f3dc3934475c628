"""The lifecycle templates `clm init` installs: stages in order, their teams, SLAs and
playbooks."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemSpec:
    """A playbook's task, milestone or phase (a marker that passes by itself): due `offset`
    after its anchor (`entry` into the stage, `start`, `renewal`, or `run`: the day the
    playbook runs)."""

    kind: str
    title: str
    offset: str = "0d"
    anchor: str = "entry"
    remind: tuple[str, ...] = ()
    every: str | None = None
    milestone: str | None = None


@dataclass(frozen=True)
class PlaybookSpec:
    name: str
    description: str
    items: tuple[ItemSpec, ...]
    on_start: bool = False


@dataclass(frozen=True)
class StageSpec:
    key: str
    name: str
    team: str | None = None
    expected_days: int | None = None
    terminal: bool = False
    playbook: str | None = None


def _milestone(title, offset, anchor="entry", remind=(), every=None) -> ItemSpec:
    return ItemSpec("milestone", title, offset, anchor, remind, every)


def _task(title, offset, milestone=None, anchor="entry") -> ItemSpec:
    return ItemSpec("task", title, offset, anchor, milestone=milestone)


PLAYBOOKS = (
    PlaybookSpec(
        "lifecycle",
        "Lifecycle phases from the start date and the Renewal milestone, for every customer added",
        (
            # Phases: markers that pass by themselves on their day, not to-dos.
            ItemSpec("phase", "Introduction", "+1m", "start"),
            ItemSpec("phase", "Adoption", "+3m", "start"),
            ItemSpec("phase", "Retention", "+12m", "start"),
            # Due on the customer's renewal date; `customer add`, `edit` and `renew` keep it
            # there, recurring with the customer's term.
            _milestone("Renewal", "+0d", "renewal", remind=("2m",), every="1y"),
        ),
        on_start=True,
    ),
    PlaybookSpec(
        "onboarding",
        "Deliver, install and train in the first month",
        (
            _milestone("Product delivery", "+14d", remind=("3d",)),
            _task("Schedule the kick-off call", "+2d", "Product delivery"),
            _task("Ship the product", "+10d", "Product delivery"),
            _milestone("Setup and installation", "+21d", remind=("3d",)),
            _task("Install and configure", "+18d", "Setup and installation"),
            _milestone("Personnel training", "+30d", remind=("5bd",)),
            _task("Train the admins", "+25d", "Personnel training"),
        ),
    ),
    PlaybookSpec(
        "renewal",
        "Prepare and sign the renewal",
        (
            _task("Review usage and health before the renewal", "+7d"),
            _task("Send the renewal proposal", "+30d"),
            _milestone("Renewal signed", "+0d", "renewal", remind=("2w",)),
        ),
    ),
    PlaybookSpec(
        "save",
        "Win back a customer at risk of churning",
        (
            _task("Call the executive sponsor", "+2d"),
            _task("Agree a save plan", "+7d"),
            _milestone("Save plan agreed", "+14d", remind=("3d",)),
        ),
    ),
)


@dataclass(frozen=True)
class RuleSpec:
    name: str
    from_stages: tuple[str, ...]
    when: tuple[str, ...]
    to: str | None = None
    cta: str | None = None
    playbook: str | None = None


RULES = (
    RuleSpec("qualify", ("lead",), ("lead_score >= 50",), to="prospect"),
    RuleSpec("onboarded", ("onboarding",), ("milestone_done:Personnel training",), to="launched"),
    RuleSpec("launch", ("onboarding",), ("days_in_stage >= 30",), to="launched"),
    RuleSpec("adopt", ("launched",), ("days_in_stage >= 60",), to="adopting"),
    RuleSpec(
        "renewal-due",
        ("onboarding", "launched", "adopting"),
        ("days_to_renewal <= 90",),
        to="renewal",
    ),
    RuleSpec(
        "at-risk",
        ("onboarding", "launched", "adopting", "renewal"),
        ("health < 40",),
        to="will-churn",
        cta="risk:health below 40",
    ),
    # The way out of will-churn: health back for a while returns the customer to the stage it
    # came from, with a CTA for its owner to confirm the save.
    RuleSpec(
        "recovered",
        ("will-churn",),
        ("health >= 70 for 14d",),
        to="previous",
        cta="lifecycle:health recovered, confirm the save",
    ),
)


@dataclass(frozen=True)
class Template:
    description: str
    entry_stage: str
    stages: tuple[StageSpec, ...]
    playbooks: tuple[PlaybookSpec, ...] = PLAYBOOKS
    rules: tuple[RuleSpec, ...] = RULES


TEMPLATES = {
    "default": Template(
        "the eight-stage lifecycle from lead to churned",
        entry_stage="onboarding",
        stages=(
            StageSpec("lead", "Lead", "marketing"),
            StageSpec("prospect", "Prospect", "sales"),
            StageSpec("onboarding", "Onboarding", "customer-success", 30, playbook="onboarding"),
            StageSpec("launched", "Launched", "customer-success", 60),
            StageSpec("adopting", "Adopting", "customer-success"),
            StageSpec("renewal", "Renewal", "account-management", 90, playbook="renewal"),
            StageSpec("will-churn", "Will churn", "customer-success", playbook="save"),
            StageSpec("churned", "Churned", terminal=True),
        ),
    ),
    "simple": Template(
        "four stages for a small book: onboarding, active, renewal, churned",
        entry_stage="onboarding",
        stages=(
            StageSpec("onboarding", "Onboarding", "customer-success", 30, playbook="onboarding"),
            StageSpec("active", "Active", "customer-success"),
            StageSpec("renewal", "Renewal", "customer-success", 90, playbook="renewal"),
            StageSpec("churned", "Churned", terminal=True),
        ),
        rules=(
            RuleSpec("activate", ("onboarding",), ("days_in_stage >= 30",), to="active"),
            RuleSpec(
                "renewal-due", ("onboarding", "active"), ("days_to_renewal <= 90",), to="renewal"
            ),
        ),
    ),
}
DEFAULT_TEMPLATE = "default"

# `customer renew` sends a customer in this stage back to the stage it came from, and rolls
# its recurring milestone of this title to the next occurrence. That milestone follows the
# customer's renewal date and term (customer add, edit and renew move it).
RENEWAL_STAGE = "renewal"
# Why a customer churned: entering a terminal stage needs one of these (the model's list,
# `churn_reasons` in its TOML, replaces them); a rule that churns records the last one.
# The roles of the account's people, of a model that lists none (the model's `contact_roles`).
CONTACT_ROLES = ("champion", "sponsor", "signer", "billing", "admin", "user")
CHURN_REASONS = ("budget", "product-fit", "competitor", "champion-left", "acquired", "other")
RULE_CHURN_REASON = "other"
RENEWAL_MILESTONE = "Renewal"


# Where a rule may move a customer besides a stage of the model (`--to previous`): the name
# and what it means. A stage cannot take one of these keys.
PREVIOUS = "previous"
MOVE_TARGETS = {
    PREVIOUS: "back to the stage the customer came from (before its current one)",
}
