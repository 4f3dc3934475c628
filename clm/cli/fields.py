"""`--fields a,b,c` on every list and show: the columns a script wants, in its order, in any
format. Added to the built commands in one place rather than to each signature."""

from functools import cache

NOT_RECORDS = {"model"}  # `model show` draws the lifecycle: no fields to pick


def install_fields(command, name: str = "") -> None:
    """Give every `list` and `show` under `command` a --fields option, once."""
    for sub_name, sub in getattr(command, "commands", {}).items():
        if name in NOT_RECORDS:
            continue
        if sub_name in ("list", "show") and not any(p.name == "fields" for p in sub.params):
            sub.params.append(_option())
        install_fields(sub, sub_name)


@cache
def _option():
    """The option as Typer builds it from a signature (Typer's Click is its own), built once
    and shared: a parameter holds no state of an invocation."""
    from typing import Annotated

    import typer

    probe = typer.Typer()

    @probe.command()
    def picks(
        fields: Annotated[
            str | None,
            typer.Option(
                "--fields",
                metavar="A,B,…",
                expose_value=False,
                callback=_store,
                help="Only these fields (JSON keys), in this order, in any format.",
            ),
        ] = None,
    ) -> None:
        """The --fields option."""

    return typer.main.get_command(probe).params[0]


def _store(ctx, param, value) -> None:
    if value is not None and ctx.obj is not None:
        ctx.obj.fields = [name.strip() for name in value.split(",") if name.strip()]
