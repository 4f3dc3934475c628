"""A new book: a database created with a lifecycle template (stages, playbooks, rules)."""

from pathlib import Path

from sqlalchemy import Connection, delete

from clm.db import Database, backup_path, exists, recreate, resolve, set_meta
from clm.domain.playbooks import install_playbooks
from clm.domain.records import new_row
from clm.errors import Conflict, Invalid
from clm.lifecycle import DEFAULT_TEMPLATE, TEMPLATES
from clm.storage.tables import playbook_items, playbooks, rules, stages


def init_database(target: str | None, template: str, force: bool) -> tuple[Database, Path | None]:
    """A new database with `template`'s lifecycle; with `force` an existing one is set aside."""
    if template not in TEMPLATES:
        raise Invalid(f"unknown template '{template}': use one of {', '.join(TEMPLATES)}")
    saved = None
    if exists(target):
        if not force:
            on_file = resolve(target)[1] is not None
            kept = "a backup is kept" if on_file else "a copy is saved as a SQLite file first"
            raise Conflict(f"the database already exists: pass --force to recreate it ({kept})")
        if resolve(target)[1] is None:
            saved = _dump_server(target)
        saved = recreate(target) or saved
    database = Database.open(target, on_create=lambda conn: install_template(conn, template))
    return database, saved


def _dump_server(target: str) -> Path:
    """Before a server database's tables are dropped: the whole of it copied into a new SQLite
    file in the current directory (`clm --db FILE db copy URL` brings it back)."""
    from clm.domain.db_copy import copy_database

    server = Database.open(target, on_create=lambda conn: None)
    name = server.engine.url.database or "server"
    dump = backup_path(Path.cwd() / f"clm-{name}.db", "before-init")
    copy_database(server, str(dump))
    server.engine.dispose()
    return dump


def install_template(conn: Connection, name: str = DEFAULT_TEMPLATE) -> None:
    """Replace the model (stages, playbooks, rules) with those of a lifecycle template."""
    from clm.domain.engine.rulebook import install_rules  # only when a book is made

    template = TEMPLATES.get(name)
    if template is None:
        raise Invalid(f"unknown template '{name}': use one of {', '.join(TEMPLATES)}")
    conn.execute(delete(rules))
    conn.execute(delete(stages))
    conn.execute(delete(playbook_items))
    conn.execute(delete(playbooks))
    install_playbooks(conn, template.playbooks)
    conn.execute(
        stages.insert(),
        [
            new_row(
                conn,
                key=spec.key,
                name=spec.name,
                position=position,
                team=spec.team,
                expected_days=spec.expected_days,
                terminal=spec.terminal,
                playbook=spec.playbook,
            )
            for position, spec in enumerate(template.stages, start=1)
        ],
    )
    set_meta(conn, "entry_stage", template.entry_stage)
    install_rules(conn, template.rules)
