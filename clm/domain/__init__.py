"""The domain layer: what clm decides. Functions take a Connection and plain values and
return named records. May import clm.db, clm.storage.tables and the base modules (clm.errors,
clm.dates, clm.lifecycle, clm.plain); never the renderer, the commands or the CLI plumbing.
The engine (rules, the tick, tick ownership) is its own room, clm.domain.engine."""
