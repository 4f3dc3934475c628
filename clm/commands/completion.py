"""`clm completion SHELL`: the script that teaches a shell to complete clm."""

from enum import StrEnum
from typing import Annotated

import typer


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    ctx: typer.Context,
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", case_sensitive=False)],
) -> None:
    """Print the shell completion script: commands, options, customer slugs, user handles,
    stage keys, rule and playbook names, open milestone, task and CTA ids.

    \b
    Load it from your shell's start-up file:
      bash (~/.bashrc):                eval "$(clm completion bash)"
      zsh (~/.zshrc, after compinit):  eval "$(clm completion zsh)"
      fish:                            clm completion fish > ~/.config/fish/completions/clm.fish

    Values come from the database of $CLM_DB (or --db typed before the command).

    Example: clm completion bash >> ~/.bashrc
    """
    from clm.cli.completion import SCRIPTS

    ctx.obj.stdout.write(SCRIPTS[shell.value])
