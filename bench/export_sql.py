#!/usr/bin/env python3
"""The SQL `clm export TABLE` runs on a SQLite book to make its csv lines, printed with its
values inlined: the export's floor is the sqlite3 shell running it (what SQLite alone takes to
read, join and format the same rows, with no Python at all).

    export_sql.py DB TABLE > export.sql && sqlite3 DB < export.sql > /dev/null

`bench/run` times that beside `clm export` and its peers.
"""

import io
import sys

from sqlalchemy import create_engine

from clm.domain.transfer import export


def main() -> None:
    db, table = sys.argv[1:3]
    found = []

    def captured(conn, query, batch):
        found.append(query)
        return iter(())

    export.stream_rows = captured  # the first query streamed is the lines' (then none)
    with create_engine(f"sqlite:///{db}").connect() as conn:
        export.export_table(conn, table, io.StringIO(), "csv")
    lines = found[0].with_only_columns(list(found[0].selected_columns)[-1])
    sql = lines.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    print(f"{sql};")


if __name__ == "__main__":
    main()
