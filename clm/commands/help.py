"""`clm help [TOPIC | COMMAND...]`: the help topics, and any command's help."""

from typing import Annotated

import typer


def help_(
    ctx: typer.Context,
    words: Annotated[
        list[str] | None, typer.Argument(metavar="[TOPIC | COMMAND...]", show_default=False)
    ] = None,
) -> None:
    """Explain a topic (dates, conditions, output, environment) or show a command's help;
    alone, list the commands, the topics and where the manual (man clm) is.

    Example: clm help dates
    """
    from clm.cli.help import TOPICS, command_help, topic_text, topics_text

    root = ctx.find_root().command
    out = ctx.obj.stdout
    if not words:
        from clm.cli.manual import manual_text

        out.write(command_help(root, []) + "\n\n" + topics_text() + "\n" + manual_text())
    elif len(words) == 1 and words[0] in TOPICS:
        out.write(topic_text(words[0]))
    else:
        out.write(command_help(root, words) + "\n")
