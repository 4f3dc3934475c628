"""Global options anywhere on the line, as gh takes them: `clm customer list --db x.db` is
`clm --db x.db customer list`. A command's own option of the same name (`tick --today`) stays
the command's, and nothing after `--` moves."""

GLOBALS = ("--db", "--today", "--as")  # each takes a value
FLAGS = ("--no-pager",)


def hoist(root, ctx, args: list[str]) -> list[str]:
    """`args` with the global options found after the subcommand moved before it."""
    start = 0
    while start < len(args) and args[start].startswith("-") and args[start] != "--":
        start += 2 if args[start] in GLOBALS else 1
    command, end = root, start
    while end < len(args) and hasattr(command, "get_command") and not args[end].startswith("-"):
        found = command.get_command(ctx, args[end])
        if found is None:
            break
        command, end = found, end + 1
    params = getattr(command, "params", ())
    own = {name for param in params for name in param.opts}
    valued = {
        name
        for param in params
        if getattr(param, "param_type_name", "") == "option" and not (param.is_flag or param.count)
        for name in param.opts
    }
    moved, kept, i = [], [], end
    while i < len(args):
        word = args[i]
        if word == "--":
            kept += args[i:]
            break
        name = word.split("=", 1)[0]
        if word in FLAGS and word not in own:
            moved.append(word)
            i += 1
            continue
        if word in valued:  # an option of the command and its value, whatever it looks like
            kept += args[i : i + 2]
            i += 2
            continue
        if name in GLOBALS and name not in own:
            if "=" in word:
                moved.append(word)
                i += 1
                continue
            if i + 1 < len(args):
                moved += args[i : i + 2]
                i += 2
                continue
        kept.append(word)
        i += 1
    if not moved:
        return args
    return [*args[:start], *moved, *args[start:end], *kept]
