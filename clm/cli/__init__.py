"""The CLI plumbing: entry point, lazy command loading, completion, help, parameter coercion
and the per-invocation Env. May import clm.commands (by name, lazily), clm.render, the domain
and the base modules; nothing below imports it but clm.commands (for the Env)."""
