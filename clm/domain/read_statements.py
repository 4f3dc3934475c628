"""The statements read paths run compiled ahead (clm.storage.reads), collected by name;
`python -m clm.domain.read_statements` writes them, compiled, to clm/storage/read_sql.py."""

from pathlib import Path


def statements() -> dict:
    from clm.domain.agenda import day_statements, my_statements, overdue_statements
    from clm.domain.customer_page import page_statements
    from clm.domain.reports import stays_statements
    from clm.domain.retention import retention_statements
    from clm.domain.transfer.export import export_statements

    return {
        **day_statements(), **my_statements(), **overdue_statements(), **page_statements(),
        **retention_statements(), **stays_statements(), **export_statements(),
    }  # fmt: skip


def generated() -> str:
    from clm.storage.read_compiler import module_text

    return module_text(statements())


def target() -> Path:
    import clm.storage

    return Path(clm.storage.__file__).with_name("read_sql.py")


if __name__ == "__main__":
    target().write_text(generated())
    print(f"written {target()}")
