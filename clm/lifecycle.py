"""The lifecycle templates `clm init` installs: stages in order, their teams and SLAs."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StageSpec:
    key: str
    name: str
    team: str | None = None
    expected_days: int | None = None
    terminal: bool = False


@dataclass(frozen=True)
class Template:
    description: str
    entry_stage: str
    stages: tuple[StageSpec, ...]


TEMPLATES = {
    "default": Template(
        "the eight-stage lifecycle from lead to churned",
        entry_stage="onboarding",
        stages=(
            StageSpec("lead", "Lead", "marketing"),
            StageSpec("prospect", "Prospect", "sales"),
            StageSpec("onboarding", "Onboarding", "customer-success", 30),
            StageSpec("launched", "Launched", "customer-success", 60),
            StageSpec("adopting", "Adopting", "customer-success"),
            StageSpec("renewal", "Renewal", "account-management", 90),
            StageSpec("will-churn", "Will churn", "customer-success"),
            StageSpec("churned", "Churned", terminal=True),
        ),
    ),
    "simple": Template(
        "four stages for a small book: onboarding, active, renewal, churned",
        entry_stage="onboarding",
        stages=(
            StageSpec("onboarding", "Onboarding", "customer-success", 30),
            StageSpec("active", "Active", "customer-success"),
            StageSpec("renewal", "Renewal", "customer-success", 90),
            StageSpec("churned", "Churned", terminal=True),
        ),
    ),
}
DEFAULT_TEMPLATE = "default"

# `customer renew` sends a customer in this stage back to the stage it came from.
RENEWAL_STAGE = "renewal"
