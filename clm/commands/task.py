"""`clm task …`."""

from clm.commands.common import noun

app = noun("task")
