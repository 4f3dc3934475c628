"""The engine: rules (conditions compiled to SQL), the tick over a range of days, tick
ownership. Part of the domain; its face is clm.rules."""
