"""Progress shows on a terminal's stderr and never in a pipe (cron mails stay clean)."""

import io
from datetime import date

from clm.cli.env import Env
from clm.render.progress import CountingWriter, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _env(stderr) -> Env:
    return Env(db_target=None, today=date(2026, 11, 23), user=None, stderr=stderr)


def test_silent_in_a_pipe():
    stderr = io.StringIO()
    with progress(_env(stderr), "Ticking", total=3) as bar:
        bar.advance()
        bar.update(completed=3)
    assert stderr.getvalue() == ""


def test_shown_on_a_terminal_and_cleared_after():
    stderr = Terminal()
    out = io.StringIO()
    with progress(_env(stderr), "Exporting customers", unit="lines") as bar:
        writer = CountingWriter(out, bar)
        writer.write("a,b\n1,2\n")
        assert bar._progress.tasks[0].completed == 2
    assert out.getvalue() == "a,b\n1,2\n"
    assert "Exporting customers" in stderr.getvalue()


def test_a_tick_and_an_export_in_a_pipe_print_no_progress(team, tmp_path):
    team("customer", "add", "Acme")
    assert team("tick", "--quiet").stderr == ""
    result = team("export", "customers", "--output", tmp_path / "c.csv")
    assert result.stderr == "Exported 1 customer to " + str(tmp_path / "c.csv") + ".\n"


def test_one_bar_takes_a_new_total_and_description_as_a_copy_moves_table_to_table():
    stderr = Terminal()
    with progress(_env(stderr), "Copying", unit="rows") as bar:
        bar.update(completed=0, total=10, description="Copying users")
        bar.update(completed=10, total=10, description="Copying users")
        bar.update(completed=3, total=4, description="Copying customers")
        (task,) = bar._progress.tasks
        assert (task.description, task.completed, task.total) == ("Copying customers", 3, 4)
    assert "Copying" in stderr.getvalue()


def test_a_hidden_bar_shows_nothing_until_told():
    stderr = Terminal()
    with progress(_env(stderr), "Importing", total=100, hidden=True) as bar:
        bar.update(completed=50)
    assert stderr.getvalue() == ""
