"""`clm cta …`."""

from clm.commands.common import noun

app = noun("cta")
