"""The face of the rules engine as the commands use it: conditions, the rule book, the tick and
`explain`. The engine itself lives in clm.domain.engine."""

from clm.domain.engine.conditions import parse_condition  # noqa: F401
from clm.domain.engine.owner import check_sender  # noqa: F401
from clm.domain.engine.rulebook import (  # noqa: F401
    add_rule,
    add_stage,
    edit_rule,
    get_rule,
    list_rules,
    remove_rule,
    set_enabled,
)
from clm.domain.engine.tick import explain, run_ticks, tick  # noqa: F401
