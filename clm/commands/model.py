"""`clm model …`: the whole lifecycle model as a TOML file to export, edit and apply, and drawn."""

from enum import StrEnum
from typing import Annotated

import typer

from clm.cli.env import Env
from clm.commands.common import (
    FormatOpt,
    ListsItsCommands,
    check_pictures,
    refuse_existing,
    refuse_own_file,
    write_new_file,
)
from clm.render.output import Col, Format, render_rows, say, visible

app = typer.Typer(
    help="The lifecycle model as a whole: export it as TOML, apply an edited file, draw it.",
    cls=ListsItsCommands,
)

CHANGES = (Col("change"), Col("kind"), Col("name"), Col("detail"))
STAGES = (
    Col("position", "#"),
    Col("key"),
    Col("name"),
    Col("team"),
    Col("expected_days", "SLA days"),
    Col("playbook"),
    Col("terminal"),
)
PLAYBOOKS = (Col("name"), Col("runs"), Col("items"), Col("description"))


class ShowFormat(StrEnum):
    table = "table"
    mermaid = "mermaid"
    json = "json"


@app.command("export")
def export(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(metavar="FILE", help="The file to write (default: standard output)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Export the whole model (stages, rules, playbooks, holidays, metrics…) as TOML.

    Example: clm model export lifecycle.toml
    """
    env = ctx.obj
    from clm.domain.model_file import read_model, to_toml

    if file not in (None, "-"):
        refuse_own_file(env, file)
        if not force:
            refuse_existing(file, "pass --force to overwrite it")
    with env.database().read() as conn:
        model = read_model(conn)
    text = to_toml(model)
    if file in (None, "-"):
        env.stdout.write(text)
        return
    write_new_file(env, file, text, force)
    counts = ", ".join(f"{len(model[part])} {part}" for part in ("stages", "rules", "playbooks"))
    say(env, f"Wrote the model to {file} ({counts}).")


@app.command("apply")
def apply(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", help="The TOML file of the model ('-': standard input)."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Replace the model with a TOML file's, in one transaction, after checking all of it.

    Every problem is listed with its place in the file, and then nothing changes. The stages,
    rules and playbooks added, changed and removed are shown.
    Example: clm model apply lifecycle.toml --dry-run
    """
    env = ctx.obj
    from clm.domain.model_file import apply_model, parse_toml
    from clm.errors import Problems

    document = parse_toml(_read(env, file), file)
    try:
        with env.database().write(dry_run=dry_run) as conn:
            changes = apply_model(conn, document)
    except Problems as exc:
        raise exc.found_in(file) from None
    if not changes:
        say(env, f"No changes: the model already is the one in {file}.")
        return
    render_rows(env, changes, CHANGES, fmt, noun="changes")
    counts = {kind: sum(c["change"] == kind for c in changes) for kind in ("added", "changed")}
    counts["removed"] = len(changes) - sum(counts.values())
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    say(env, f"Dry run: {summary}; nothing changed." if dry_run else f"Applied {file}: {summary}.")


@app.command("show")
def show(
    ctx: typer.Context,
    team: Annotated[
        str | None,
        typer.Option(help="Mark where this team owns stages, hands customers off and receives."),
    ] = None,
    fmt: Annotated[
        ShowFormat,
        typer.Option(
            "--format", "-f", help="table (default), mermaid or json.", case_sensitive=False
        ),
    ] = ShowFormat.table,
    svg: Annotated[
        str | None,
        typer.Option(
            "--svg", metavar="FILE", help="Also draw the lifecycle poster as SVG ('-': stdout)."
        ),
    ] = None,
    html: Annotated[
        str | None,
        typer.Option(
            "--html", metavar="FILE", help="Also save the poster as a page to print ('-': stdout)."
        ),
    ] = None,
    title: Annotated[
        str, typer.Option(help="The poster's title: the name of your lifecycle.")
    ] = "Customer lifecycle",
) -> None:
    """Draw the lifecycle: stages in order with teams and SLAs, rules as arrows, playbooks.

    --svg and --html draw it as a poster to print at A3: stage boxes coloured by team with
    their SLA, the rules' arrows, the moves made by hand dashed, each team's role at each
    stage, a legend.
    Example: clm model show --team customer-success --svg lifecycle.svg
    """
    env = ctx.obj
    from clm.domain.model_file import as_json, read_model

    _check_posters(fmt.value, svg, html, title)
    with env.database().read() as conn:
        model = read_model(conn)
        if team is not None:  # any team clm knows: of a stage, a member or a policy
            from clm.domain.ownership import get_team

            team = get_team(conn, team)
        if fmt is ShowFormat.table:
            from clm.domain.lifecycle_map import lifecycle_map

            drawn_map = lifecycle_map(conn, model)
    if fmt is ShowFormat.json:
        import json

        from clm.render.output import jsonable

        env.stdout.write(json.dumps(jsonable(as_json(model)), ensure_ascii=False, indent=2) + "\n")
    elif fmt is ShowFormat.mermaid:
        env.stdout.write(_mermaid(model, team))
    else:
        if "-" not in (svg, html):
            _print(env, [*_drawing(model, team), *_team_roles(drawn_map, team)])
        if svg or html:
            _save_posters(env, drawn_map, svg, html, title, team)


def _check_posters(fmt: str, svg: str | None, html: str | None, title: str) -> None:
    from clm.errors import Invalid

    if svg == html == "-":
        raise Invalid("--svg - and --html - both write to standard output: give one a file")
    if not title.strip():
        raise Invalid("the poster needs a title: give --title some text")
    check_pictures(fmt, None if svg == "-" else svg, None if html == "-" else html)
    if fmt != "table" and "-" in (svg, html):
        raise Invalid(f"--svg and --html draw the poster: leave out --format {fmt}")


def _save_posters(env: Env, drawn_map, svg: str | None, html: str | None, title, team) -> None:
    """Write the poster as SVG and/or HTML, to files or ('-') standard output."""
    from clm.render.poster import poster_html, poster_svg

    for file, draw in ((svg, poster_svg), (html, poster_html)):
        if file is None:
            continue
        text = draw(drawn_map, title.strip(), env.today, team)
        if file == "-":
            env.stdout.write(text)
        else:
            write_new_file(env, file, text)
            say(env, f"Saved the poster to {file}.")


# --- files ---------------------------------------------------------------------------------


def _read(env: Env, file: str) -> str:
    from clm.errors import Invalid, NotFound

    if file == "-":
        return env.stdin.read()
    try:
        with open(file, encoding="utf-8") as stream:
            return stream.read()
    except FileNotFoundError:
        raise NotFound(f"no file '{file}'") from None
    except UnicodeDecodeError:
        raise Invalid(f"'{file}' is not UTF-8 text") from None
    except OSError as exc:
        raise Invalid(f"cannot read '{file}': {exc.strerror}") from None


# --- the drawing ---------------------------------------------------------------------------


def _arrow_text(arrow: dict) -> str:
    """`onboarding ──launch (days_in_stage >= 30)──▶ launched`, with the rule's other actions."""
    target = arrow["to"] or "(stays)"
    text = f"{arrow['from']} ──{arrow['rule']} ({' and '.join(arrow['when'])})──▶ {target}"
    if arrow["cta"]:
        text += f"  + CTA {arrow['cta']}"
    if arrow["playbook"]:
        text += f"  + playbook {arrow['playbook']}"
    if not arrow["enabled"]:
        text += "  (disabled)"
    return text


def _runs(model: dict, book: dict) -> list[str]:
    """What runs a playbook: every start, stages on entry, rules."""
    runs = ["every start"] if book["on_start"] else []
    runs += [f"stage {s['key']}" for s in model["stages"] if s["playbook"] == book["name"]]
    return runs + [f"rule {r['name']}" for r in model["rules"] if r["playbook"] == book["name"]]


def _drawing(model: dict, team: str | None) -> list:
    """The lifecycle as Rich renderables: a title, the stages, the rules' arrows, playbooks."""
    from rich.text import Text

    from clm.domain.model_file import edges
    from clm.render.output import table

    title = Text(f"Lifecycle: {len(model['stages'])} stages, entry stage ", style="bold")
    title.append(visible(model["entry_stage"]), style="bold cyan")
    stage_rows = [stage | {"position": i} for i, stage in enumerate(model["stages"], start=1)]
    columns = STAGES
    if team is not None:
        title.append(f"; team {team}", style="bold")
        columns = (*STAGES, Col("owns", team))
        stage_rows = [row | {"owns": "◀ owns" if row["team"] == team else ""} for row in stage_rows]
    drawing = [title, table(columns, stage_rows), Text(), Text("Rules", style="bold")]
    arrows = edges(model, team)
    if not arrows:
        drawing.append(Text("  (none)", style="dim"))
    for arrow in arrows:
        line = Text("  ")
        if team is not None:
            role = arrow["role"] or ""
            style = {"hands off": "yellow", "receives": "green", "works": "cyan"}.get(role, "dim")
            line.append(f"{role:<10}", style=style)
        line.append(visible(_arrow_text(arrow)), style="dim" if not arrow["enabled"] else "")
        drawing.append(line)
    books = [
        {"name": b["name"], "runs": _runs(model, b), "items": len(b["items"])}
        | {"description": b["description"]}
        for b in model["playbooks"]
    ]
    drawing += [Text(), Text("Playbooks", style="bold"), table(PLAYBOOKS, books)]
    return drawing


def _team_roles(drawn_map, team: str | None) -> list:
    """Each team's role at each stage, as the poster's bands show them (only `team`'s with
    --team): `owns lead, prospect`, `receives  onboarding ◀ marketing, sales`, `hands off
    renewal ▶ customer-success`, `collaborates onboarding: Product delivery`."""
    from rich.text import Text

    from clm.domain.lifecycle_map import COLLABORATES, HANDS_OFF, OWNS, RECEIVES

    marks = {RECEIVES: " ◀ ", HANDS_OFF: " ▶ ", COLLABORATES: ": "}
    styles = {OWNS: "bold", RECEIVES: "green", HANDS_OFF: "yellow", COLLABORATES: "cyan"}
    drawing = [Text(), Text("Teams", style="bold")]
    for name in drawn_map.teams if team is None else [team]:
        drawing.append(Text(f"  {visible(name)}", style="bold"))
        lines = len(drawing)
        for kind in (OWNS, RECEIVES, HANDS_OFF, COLLABORATES):
            found: dict[str, list[str]] = {}
            for stage in drawn_map.stages:
                for role in drawn_map.roles.get((name, stage["key"]), []):
                    if role.kind == kind:
                        found.setdefault(stage["key"], []).append(role.detail)
            if not found:
                continue
            line = Text("    ")
            line.append(f"{kind:<13}", style=styles[kind])
            parts = [key + (marks[kind] + ", ".join(d) if kind != OWNS else "")
                     for key, d in found.items()]  # fmt: skip
            line.append(visible((", " if kind == OWNS else "; ").join(parts)))
            drawing.append(line)
        if len(drawing) == lines:
            drawing.append(Text("    (no stage, no move, no milestone)", style="dim"))
    return drawing


def _print(env: Env, drawing: list) -> None:
    from clm.render.output import console

    out = console(env)
    for part in drawing:
        out.print(part)


def _mermaid_text(text: str) -> str:
    """A label safe inside Mermaid's `["…"]`: its entity codes for # \" < >."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return visible(text)


def _mermaid(model: dict, team: str | None) -> str:
    """A Mermaid `flowchart LR`: a node per stage (name, team, SLA), an edge per rule and
    from-stage labelled with the rule's name; dotted when disabled, a loop when it only acts."""
    from clm.domain.model_file import edges

    node = {stage["key"]: "stage_" + stage["key"].replace("-", "_") for stage in model["stages"]}
    lines = ["flowchart LR"]
    for stage in model["stages"]:
        label = _mermaid_text(stage["name"])
        if stage["team"]:
            label += f"<br/>{_mermaid_text(stage['team'])}"
        if stage["expected_days"]:
            label += f"<br/>{stage['expected_days']} days"
        shape = '(["{}"])' if stage["terminal"] else '["{}"]'
        lines.append(f"    {node[stage['key']]}{shape.format(label)}")
    if model["entry_stage"] in node:
        lines.append(f'    entry(("entry")) --> {node[model["entry_stage"]]}')
    for arrow in edges(model):
        link = "-->" if arrow["enabled"] else "-.->"
        label = arrow["rule"] + ("" if arrow["enabled"] else " (disabled)")
        to = arrow["to"] or arrow["from"]
        if to not in node:  # not a stage: a rule's --to previous
            node[to] = f"back_to_{to}"
            lines.append(f'    {node[to]}(("{to} stage"))')
        target = node[to]
        lines.append(f"    {node[arrow['from']]} {link}|{_mermaid_text(label)}| {target}")
    owned = [node[s["key"]] for s in model["stages"] if team and s["team"] == team]
    if owned:
        lines += ["    classDef team stroke-width:3px", f"    class {','.join(owned)} team"]
    return "\n".join(lines) + "\n"
