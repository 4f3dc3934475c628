"""Rendering: tables on a terminal and in a pipe, csv/tsv/json/jsonl streams, SQL-laid plain
tables, report views, the dashboard and pictures, progress bars. Used by clm.commands; may
import the domain's data types and the base modules, never the CLI plumbing."""

from typing import Protocol, TextIO


class Streams(Protocol):
    """What the renderer needs of an invocation's environment (clm.cli.env.Env is one)."""

    stdout: TextIO
    stderr: TextIO
