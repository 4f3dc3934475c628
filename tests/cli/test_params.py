"""The direct option conversion gives Typer's own results and errors, without pydantic; a
number Typer refuses, or takes but is not finite, is clm's `Error: …` (exit 1) instead."""

import math
import os
import subprocess
import sys

import pytest
import typer.main
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from clm.cli.app import app
from clm.cli.params import converter
from clm.errors import Invalid

SAMPLES = [
    "acme", "", " x ", "5", "-5", "+5", "007", "1_000", " 5", "5.0", "2.50", "1e3", "abc",
    "٣", "true", "No", " yes ", "off", "2", "table", "CSV", "Json", "xml", "customers",
    "nan", "inf", "-Infinity", "1e400", "1,000", "99999999999999999999",
    5, 0, 1, 2.5, True, False, ("a", "b"), ["3", "4"], (),
]  # fmt: skip


def _params():
    def walk(command):
        yield from command.params
        for sub in getattr(command, "commands", {}).values():
            yield from walk(sub)

    seen = {}
    for param in walk(typer.main.get_command(app)):
        descriptor = param.type_descriptor
        seen.setdefault((repr(descriptor.annotation), param.multiple), (param, descriptor))
    return list(seen.values())


def _outcome(runtime, value, param, ctx):
    try:
        return ("ok", runtime.coerce(value, param=param, ctx=ctx))
    except BadParameter as exc:
        return ("error", exc.message)
    except Invalid as exc:
        return ("invalid", str(exc))


def _storable(result) -> bool:
    items = result if isinstance(result, list | tuple) else [result]
    return all(
        math.isfinite(n) if isinstance(n, float) else abs(n) < 2**63
        for n in items
        if isinstance(n, int | float)
    )


def _is_number(annotation) -> bool:
    if getattr(annotation, "__origin__", None) is list:
        (annotation,) = annotation.__args__
    return annotation in (int, float)


@pytest.mark.parametrize(("param", "descriptor"), _params(), ids=lambda p: getattr(p, "name", ""))
def test_direct_conversion_matches_typer(param, descriptor):
    ctx = typer.main.get_command(app).make_context("clm", ["--help"], resilient_parsing=True)
    direct = param.get_runtime_param()
    typers = build_runtime_param(descriptor)
    for value in SAMPLES:
        expected = _outcome(typers, value, param, ctx)
        got = _outcome(direct, value, param, ctx)
        if _is_number(descriptor.annotation) and not (
            expected[0] == "ok" and _storable(expected[1])
        ):
            name = max(param.opts, key=len) if param.param_type_name == "option" else "ID"
            assert got[0] == "invalid", (descriptor.annotation, value, got)
            assert got[1].startswith(f"invalid {name} '"), got
            assert ": use a whole number" in got[1] or ": use a number" in got[1], got
            continue
        assert got == expected, (descriptor.annotation, value)
        assert type(got[1]) is type(expected[1])


def test_every_clm_parameter_type_but_paths_converts_directly():
    params = [d for _, d in _params()]
    undirect = {repr(d.annotation) for d in params if not converter(d.annotation, d.parameter_info)}
    assert undirect <= {"<class 'pathlib.Path'>", "<class 'int'>"}  # a ranged int, a path


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "list"],
        ["customer", "list", "--stage", "onboarding", "-f", "csv"],
        ["--as", "alice", "my"],
        ["customer", "show", "acme-corp"],
    ],
)
def test_database_commands_skip_pydantic_the_orm_and_rich_in_a_pipe(args, tmp_path):
    db = tmp_path / "x.db"
    env = os.environ | {"CLM_DB": str(db), "CLM_TODAY": "2026-11-23"}
    subprocess.run(
        [sys.executable, "-m", "clm", "--db", str(db), "demo", "--customers", "5"],
        env=env,
        capture_output=True,
        check=True,
    )
    code = (
        "import sys\nfrom clm.cli.app import main\n"
        f"sys.argv = ['clm', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('pydantic', 'sqlmodel', 'sqlalchemy.orm', 'rich.console', 'rich.table')\n"
        "print(','.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout
    assert result.stderr.strip() == ""
