"""The config file: one person's defaults (~/.config/clm/config.toml, or $CLM_CONFIG), under
the environment variables and the options. Read with the stdlib; written whole, atomically,
readable by its owner only. Secrets never go in it: they stay in the environment or ~/.netrc.

A setting is registered once in KEYS (its name, the variable that wins over it, what it
accepts) and read by name: `setting("notify.smtp_url")`.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from clm.errors import Invalid
from clm.plain import has_password


@dataclass(frozen=True)
class Key:
    name: str  # dotted: `notify.smtp_url` is `smtp_url` in the file's [notify] table
    variable: str  # the environment variable that wins over the file
    about: str
    check: Callable[[str], str]  # the value as stored, or raise Invalid (what is accepted)


def _database(value: str) -> str:
    value = value.strip()
    if not value:
        raise Invalid("an empty database: give a file path or a URL")
    if has_password(value):
        raise Invalid(
            "a database password does not go in the config file: "
            "set CLM_DB instead, or use PGPASSWORD or ~/.pgpass"
        )
    if "://" in value:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise Invalid(
                f"unsupported database '{value}': use a file path, sqlite:///PATH or postgresql://…"
            )
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():  # a config holds for every folder clm runs in
        return str(Path.cwd() / path)
    return value


def _user(value: str) -> str:
    handle = value.strip().lower()
    if not handle or any(c.isspace() for c in handle):
        raise Invalid(f"user '{value}': give one handle, e.g. alice")
    return handle


def _pager(value: str) -> str:
    return value.strip()  # empty (or cat): no pager


def _dates(value: str) -> str:
    """`iso`, or a strftime pattern that tells one day from the next (`%d %b %Y`)."""
    from datetime import date

    value = value.strip()
    if value.lower() == "iso":
        return "iso"
    accepted = "use iso (2026-12-06) or a strftime pattern with the day, e.g. '%d %b %Y'"
    try:
        one, next_day = (date(2026, 12, d).strftime(value) for d in (6, 7))
    except ValueError:
        one = next_day = ""
    if "%" not in value or one == next_day:
        raise Invalid(f"date display '{value}': {accepted}")
    return value


def _smtp_url(value: str) -> str:
    value = value.strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        port, parts = -1, None
    if parts is None or parts.scheme not in ("smtp", "smtps") or not parts.hostname or port == -1:
        raise Invalid(f"SMTP URL '{_hidden(value)}': use smtp://[USER@]HOST[:PORT] or smtps://…")
    if parts.password is not None:
        raise Invalid(
            "an SMTP password does not go in the config file: "
            "set CLM_SMTP_PASSWORD, or put it in ~/.netrc"
        )
    return value


def _hidden(url: str) -> str:
    """`url` without its user part (which may hold a password), for an error message."""
    scheme, sep, rest = url.rpartition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


KEYS = {
    key.name: key
    for key in (
        Key(
            "database",
            "CLM_DB",
            "the database: a file path or a URL, as CLM_DB",
            _database,
        ),
        Key("user", "CLM_USER", "who you are, as CLM_USER and --as", _user),
        Key(
            "pager",
            "CLM_PAGER",
            "the pager for long output on a terminal (empty or cat: none); beats $PAGER",
            _pager,
        ),
        Key(
            "dates",
            "CLM_DATES",
            "how tables show dates to people: iso (the default) or a strftime pattern such "
            "as '%d %b %Y'; csv, tsv and json keep ISO dates",
            _dates,
        ),
        Key(
            "notify.smtp_url",
            "CLM_SMTP_URL",
            "the mail server of notifications: smtp://[USER@]HOST[:PORT] (the password: "
            "CLM_SMTP_PASSWORD or ~/.netrc)",
            _smtp_url,
        ),
    )
}


def config_path() -> Path:
    """$CLM_CONFIG, else config.toml in the user config dir (~/.config/clm on Linux)."""
    chosen = os.environ.get("CLM_CONFIG")
    if chosen:
        return Path(chosen).expanduser()
    import platformdirs

    return platformdirs.user_config_path("clm") / "config.toml"


@dataclass
class Config:
    """The file's accepted settings by dotted name, its path, every name in it, and the names
    in it clm does not know."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    document: dict = field(default_factory=dict)  # as read: written back with a change


def unknown_key(name: str) -> Invalid:
    return Invalid(f"unknown config key '{name}': use one of {', '.join(KEYS)}")


def key(name: str) -> Key:
    if name not in KEYS:
        raise unknown_key(name)
    return KEYS[name]


def read_config(path: Path | None = None, strict: bool = True) -> Config:
    """The config file (none: no settings). A file that is not TOML is an error naming the
    file; so is a value that is not accepted, unless not `strict` (`clm config set` and
    `unset` mend such a file: they skip it)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"cannot read the config file {path}: {_reason(exc)}") from None
    import tomllib  # only for a file there is (cron's tick has none: ~10 ms)

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"config file {path} is not TOML: {exc}; fix or remove it") from None
    config = Config(path, document=document)
    for name, value in _flatten(document):
        config.present.add(name)
        if name not in KEYS:
            config.unknown.append(name)
            continue
        try:
            if not isinstance(value, str):
                raise Invalid("give a string, in quotes")
            config.values[name] = KEYS[name].check(value)
        except Invalid as exc:
            if strict:
                raise Invalid(f"config file {path}: {name}: {exc}") from None
    return config


def _flatten(table: dict, prefix: str = ""):
    for name, value in table.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _flatten(value, dotted + ".")
        else:
            yield dotted, value


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def setting(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """A setting in effect: its environment variable (when set and not empty), else the config
    file's value, else None."""
    registered = key(name)
    value = environ.get(registered.variable)
    if value:
        try:
            return registered.check(value)
        except Invalid as exc:
            raise Invalid(f"{registered.variable}: {exc}") from None
    return read_config().values.get(name)


def smtp_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """The SMTP server notifications are sent through: CLM_SMTP_URL, else notify.smtp_url in
    the config file; never with a password (CLM_SMTP_PASSWORD or ~/.netrc has it)."""
    return setting("notify.smtp_url", environ)


def write_setting(config: Config, name: str, value: str | None) -> None:
    """Set (or with None remove) one setting and write the file again, atomically: a crash
    leaves the old file or the new one, never half of one. Other keys are kept as they were
    (comments are not)."""
    *tables, leaf = name.split(".")
    table = config.document
    for part in tables:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise Invalid(f"config file {config.path}: {part} must be a table ([{part}])")
    if value is None:
        table.pop(leaf, None)
        _drop_empty_tables(config.document)
    else:
        table[leaf] = value
    _write_atomically(config.path, config.document)


def _drop_empty_tables(table: dict) -> None:
    for name, value in list(table.items()):
        if isinstance(value, dict):
            _drop_empty_tables(value)
            if not value:
                del table[name]


def _write_atomically(path: Path, document: dict) -> None:
    import tempfile

    import tomli_w

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise Invalid(f"cannot write the config file {path}: {_reason(exc)}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:  # mkstemp made it 0600
            out.write(tomli_w.dumps(document))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
