"""Shell completion for bash, zsh and fish, answered without Typer, Click or SQLAlchemy.

A shell asks on every TAB, so the answer must come before Typer could even import. The
command tree is read from `clm/command_index.py` (generated from the live Typer app by
`docs/make_reference.py`, checked by a test), names from the database through `clm.cli.names`.
Protocol: the shell runs `clm` with `_CLM_COMPLETE=bash_complete|zsh_complete|fish_complete`,
`COMP_WORDS` (the words so far) and `COMP_CWORD` (the index of the word being completed).
"""

import os
import shlex

from clm.domain.engine.fields import FIELDS, MILESTONE_KINDS

COMPLETE_VAR = "_CLM_COMPLETE"

SCRIPTS = {
    "bash": """\
_clm_completion() {
    local IFS=$'\\n'
    COMPREPLY=( $(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD \\
                  _CLM_COMPLETE=bash_complete "${COMP_WORDS[0]}" 2>/dev/null) )
    return 0
}
complete -o default -o nosort -F _clm_completion clm
""",
    "zsh": """\
#compdef clm
_clm_completion() {
    local -a reply
    local IFS=$'\\n'
    reply=( $(env COMP_WORDS="${words[*]}" COMP_CWORD=$((CURRENT - 1)) \\
              _CLM_COMPLETE=zsh_complete "${words[1]}" 2>/dev/null) )
    if (( ${#reply} )); then
        _describe -V clm reply
    else
        _files
    fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _clm_completion "$@"
else
    compdef _clm_completion clm
fi
""",
    "fish": """\
function __clm_complete
    set -l words (commandline -opc) (commandline -ct)
    env COMP_WORDS="$words" COMP_CWORD=(math (count $words) - 1) \\
        _CLM_COMPLETE=fish_complete $words[1] 2>/dev/null
end
complete --command clm --no-files --keep-order --arguments '(__clm_complete)'
""",
}

# Parameters whose values name something stored, by parameter name; per command where the
# same name means a new value (`customer add --slug` is a new slug, `rule add NAME` a new rule).
KINDS = {
    "slug": "customer",
    "customer": "customer",
    "owner": "user",
    "assignee": "user",
    "collaborator": "user",
    "remove_collaborator": "user",
    "influencer": "user",
    "remove_influencer": "user",
    "handle": "user",
    "as_user": "user",
    "stage": "stage",
    "key": "stage",
    "after": "stage",
    "before": "stage",
    "from_": "stage",
    "to": "stage",
    "trying": "rule",
    "playbook": "playbook",
    "team": "team",
    "milestone_id": "milestone",
    "milestone": "milestone",
    "task_id": "task",
    "cta_id": "cta",
    "cta": "cta",
    "db_target": "file",
    "file": "file",
    "dest": "file",
    "other": "file",  # db merge OTHER
    "output": "file",
    "svg": "file",
    "html": "file",
}
KINDS_BY_COMMAND = {
    ("customer add", "slug"): "",
    ("user add", "handle"): "",
    ("stage add", "key"): "",
    ("rule add", "name"): "",
    ("rule add", "cta"): "",
    ("rule rm", "name"): "rule",
    ("rule enable", "name"): "rule",
    ("rule disable", "name"): "rule",
    ("playbook show", "name"): "playbook",
}
# Values a plain text option accepts (the domain checks them; completion only offers them).
CHOICES = {
    "template": ("default", "simple"),
    "kind": ("note", "call", "email", "meeting"),
    "type_": ("risk", "lifecycle", "expansion", "objective", "activity"),
    "priority": ("low", "medium", "high"),
    "every": ("year", "quarter", "month"),
    # A rule's --when starts with a field it can read (from the registry) or a milestone kind.
    "when": (*FIELDS, *(f"{kind}:" for kind in MILESTONE_KINDS)),
}
STATUS = {
    "milestone list": ("open", "done", "blocked", "cancelled", "all"),
    "task list": ("open", "done", "all"),
    "cta list": ("open", "closed", "snoozed", "all"),
}


def build_index(root) -> dict:
    """The command tree of a Click group, as completion needs it: per command path, its
    subcommands (with their one-line help), its options (flag: None; else what the value is)
    and what each positional argument is."""
    index = {}

    def kind_of(path: str, param) -> str | None:
        if getattr(param, "is_flag", False):
            return None
        choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
        if choices:
            return "choice:" + ",".join(str(getattr(c, "value", c)) for c in choices)
        if param.name == "status" and path in STATUS:
            return "choice:" + ",".join(STATUS[path])
        if param.name in CHOICES:
            return "choice:" + ",".join(CHOICES[param.name])
        return KINDS_BY_COMMAND.get((path, param.name), KINDS.get(param.name, ""))

    def visit(command, path: str) -> None:
        options, args = {"--help": None, "-h": None}, []
        for param in command.params:
            if getattr(param, "hidden", False) or param.name in (
                "install_completion",
                "show_completion",
            ):
                continue
            kind = kind_of(path, param)
            if param.param_type_name == "argument":
                args.append(kind or "")
            else:
                for opt in (*param.opts, *param.secondary_opts):
                    options[opt] = kind
        subcommands = getattr(command, "commands", {})
        index[path] = {
            "commands": {
                name: sub.get_short_help_str(limit=60)
                for name, sub in sorted(subcommands.items())
                if not sub.hidden
            },
            "options": options,
            "args": args,
        }
        for name, sub in subcommands.items():
            visit(sub, f"{path} {name}".strip())

    visit(root, "")
    return index


def respond(environ=os.environ) -> int:
    """Answer one completion request from a shell: candidates on stdout, one a line."""
    from clm.cli.command_index import INDEX

    mode = environ.get(COMPLETE_VAR, "")
    shell = mode.removesuffix("_complete").removeprefix("complete_")
    words = _split(environ.get("COMP_WORDS", ""))
    try:
        cword = int(environ.get("COMP_CWORD", len(words)))
    except ValueError:
        cword = len(words)
    incomplete = words[cword] if cword < len(words) else ""
    # bash splits `--format=js` into `--format`, `=`, `js`: read it as `--format js`.
    args = [word for word in words[1:cword] if word != "="]
    incomplete = "" if incomplete == "=" else incomplete
    candidates = complete(INDEX, args, incomplete, environ)
    lines = []
    for value, help_text in candidates:
        if shell == "zsh":
            lines.append(value.replace(":", r"\:") + (f":{help_text}" if help_text else ""))
        elif shell == "fish":
            lines.append(value + (f"\t{help_text}" if help_text else ""))
        else:
            lines.append(value)
    if lines:
        print("\n".join(lines))
    return 0


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an open quote: split what there is
        return text.split()


def complete(index: dict, args: list[str], incomplete: str, environ) -> list[tuple[str, str]]:
    """(value, help) candidates for `incomplete`, after the words `args`."""
    path, positional, pending, db = "", 0, None, environ.get("CLM_DB")
    for word in args:
        node = index[path]
        if pending is not None:
            if pending == "--db":
                db = word
            pending = None
        elif word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            if name == "--db" and eq:
                db = value
            elif not eq and node["options"].get(name) is not None:
                pending = name
        elif word in node["commands"]:
            path, positional = f"{path} {word}".strip(), 0
        else:
            positional += 1
    node = index[path]
    if pending is not None:
        return _values(node["options"][pending], incomplete, db, environ)
    if incomplete.startswith("-"):
        name, eq, value = incomplete.partition("=")
        if eq and node["options"].get(name):
            return [
                (f"{name}={v}", h) for v, h in _values(node["options"][name], value, db, environ)
            ]
        return [(o, "") for o in node["options"] if o.startswith(incomplete)]
    if node["commands"] and positional == 0:
        return [(c, h) for c, h in node["commands"].items() if c.startswith(incomplete)]
    if positional < len(node["args"]):
        return _values(node["args"][positional], incomplete, db, environ)
    return []


def _values(kind: str, incomplete: str, db: str | None, environ) -> list[tuple[str, str]]:
    if kind.startswith("choice:"):
        return [(c, "") for c in kind[len("choice:") :].split(",") if c.startswith(incomplete)]
    if kind == "file":
        # bash and zsh complete file names themselves when the answer is empty; fish asks us.
        return _files(incomplete) if environ.get(COMPLETE_VAR, "").startswith("fish") else []
    if not kind:
        return []
    from clm.cli.names import names

    return names(db or _configured_database(), kind, incomplete)


def _configured_database() -> str | None:
    """The config file's database (below --db and CLM_DB); none from a broken file: a TAB
    never shows an error."""
    from clm.errors import ClmError
    from clm.storage.config_file import read_config

    try:
        return read_config().values.get("database")
    except ClmError:
        return None


def _files(incomplete: str) -> list[tuple[str, str]]:
    folder, _, start = incomplete.rpartition("/")
    try:
        entries = sorted(os.scandir(os.path.expanduser(folder or ".")), key=lambda e: e.name)
    except OSError:
        return []
    prefix = f"{folder}/" if folder else ""
    return [
        (prefix + e.name + ("/" if e.is_dir() else ""), "")
        for e in entries
        if e.name.startswith(start) and (start.startswith(".") or not e.name.startswith("."))
    ]
