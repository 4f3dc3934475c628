"""Option and argument values converted without pydantic.

Typer 0.29 converts every parameter of a command through a pydantic `TypeAdapter`, even one
left unset: each command imported pydantic and built a core schema per parameter before it
ran (about a tenth of `clm customer list`). The values clm takes are plain (strings, flags,
ints, floats, choices, lists of them), so `install()` gives those types a direct conversion with
Typer's own results. A value it does not accept (`--health abc`, an unknown `--format`), and
every other type, goes through Typer's own conversion: its results and its error messages,
except for numbers. A number Typer refuses (`--arr 1,000`, `--health 50.5`) is bad input, not a
usage error: one `Error: invalid --health '50.5': use a whole number` line, exit 1, as every
other bad value. A number that is not finite (`nan`, `inf`, `1e400`), which Typer takes, is
refused the same way: it would be stored as nothing (NaN) or print as invalid JSON.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class _Declined(Exception):
    """The direct conversion leaves this value to Typer's."""


def _str(value, ctx):
    if type(value) is str:
        return value
    raise _Declined


def _int(value, ctx):
    if type(value) is int:
        return value
    if type(value) is str and _INT.fullmatch(value):
        return int(value)
    raise _Declined


def _float(value, ctx):
    if type(value) is float:
        return value
    if type(value) is int or (type(value) is str and _FLOAT.fullmatch(value)):
        return float(value)
    raise _Declined


_TRUE = frozenset(("1", "on", "t", "true", "y", "yes"))
_FALSE = frozenset(("", "0", "off", "f", "false", "n", "no"))


def _bool(value, ctx):
    if type(value) is bool:
        return value
    if type(value) is str:
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    raise _Declined


def _choice(enum: type[Enum], case_sensitive: bool):
    from typer._param_types import coerce_cli_choice

    choices = tuple(enum)

    def convert(value, ctx):
        try:
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive, ctx=ctx)
        except ValueError:
            raise _Declined from None

    return convert


def _each(convert):
    def convert_all(value, ctx):
        items = value if isinstance(value, list | tuple) else [value]
        return [convert(item, ctx) for item in items]

    return convert_all


# What a number parameter accepts, as its error says.
_NUMBERS = {int: "a whole number, e.g. 30", float: "a number, e.g. 24000 or 24000.50"}


def _number_kind(annotation) -> type | None:
    """int or float for a number parameter (or a list of them), else None."""
    if getattr(annotation, "__origin__", None) is list:
        (annotation,) = annotation.__args__
    return annotation if annotation in _NUMBERS else None


def _bounds(info) -> tuple:
    return getattr(info, "min", None), getattr(info, "max", None)


_INT64 = 2**63 - 1  # the databases' largest integer: a larger id or count cannot be stored


def _in_bounds(result, info) -> bool:
    low, high = _bounds(info)
    items = result if isinstance(result, list | tuple) else [result]
    return all(
        (low is None or low <= n)
        and (high is None or n <= high)
        and (not isinstance(n, int) or -_INT64 <= n <= _INT64)
        for n in items
    )


def _refused_number(kind: type, value, param, info):
    """The error of a number parameter's bad value: an `Invalid`, i.e. `Error: …`, exit 1."""
    from clm.errors import Invalid

    if param.param_type_name == "option":
        name = max(param.opts, key=len)
    else:
        name = param.metavar or param.name.upper()
    items = value if isinstance(value, list | tuple) else [value]
    shown = ", ".join(map(str, items))
    accepted = _NUMBERS[kind]
    low, high = _bounds(info)
    if low is not None or high is not None:
        accepted = "a whole number " + (
            f"from {low} to {high}" if None not in (low, high)
            else f"of {low} or more" if low is not None else f"up to {high}"
        )  # fmt: skip
    hint = " (no thousands separators)" if "," in shown else ""
    return Invalid(f"invalid {name} '{shown}': use {accepted}{hint}")


def _finite(result) -> bool:
    items = result if isinstance(result, list | tuple) else [result]
    return all(not isinstance(item, float) or math.isfinite(item) for item in items)


# Parameters that name or title something: one line (LINE_CHARS); other text (a note, a reason,
# a path, a condition) is held to NOTE_CHARS.
_ONE_LINE = frozenset(
    {"name", "title", "slug", "handle", "tag", "untag", "source", "email", "team", "key"}
)


def _check_length(result, param) -> None:
    from clm.plain import LINE_CHARS, NOTE_CHARS

    limit = LINE_CHARS if param.name in _ONE_LINE else NOTE_CHARS
    items = result if isinstance(result, list | tuple) else [result]
    for item in items:
        if isinstance(item, str) and len(item) > limit:
            from clm.errors import Invalid

            name = max(param.opts, key=len) if param.param_type_name == "option" else None
            name = name or param.metavar or param.name.upper()
            raise Invalid(f"invalid {name}: {len(item):,} characters, at most {limit:,}")


def converter(annotation, info) -> Callable[[Any, Any], Any] | None:
    """The direct conversion of a parameter of this annotation and `ParameterInfo`, or None
    to leave it to Typer (paths, files, custom parsers, ranges, anything else)."""
    if info.parser is not None or getattr(info, "clamp", False):
        return None
    if _bounds(info) != (None, None) and annotation is not int:
        return None
    if getattr(annotation, "__origin__", None) is list:
        (item,) = annotation.__args__
        inner = converter(item, info)
        return _each(inner) if inner is not None else None
    if annotation is str:
        return _str
    if annotation is bool:
        return _bool
    if annotation is int:
        return _int
    if annotation is float:
        return _float
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(annotation, info.case_sensitive)
    return None


def install() -> None:
    """Give Typer's parameters the direct conversion where it applies. Does nothing on a Typer
    without the hooks it relies on (its own conversion then stays)."""
    try:
        from typer import _coercion, core
        from typer._click.exceptions import BadParameter

        parameter, base = core._TyperParameter, _coercion.RuntimeParam
        build = _coercion.build_runtime_param
        original = parameter.get_runtime_param
    except (ImportError, AttributeError):
        return
    if getattr(parameter, "_clm_direct", False):
        return

    @dataclass(frozen=True)
    class DirectParam(base):
        convert: Callable[[Any, Any], Any]
        descriptor: Any

        def _coerce_value(self, value, param, ctx):
            kind = _number_kind(self.annotation)
            try:
                result = self.convert(value, ctx)
            except (_Declined, ValueError):
                typers = build(self.descriptor)
                if kind is None:
                    return typers._coerce_value(value, param=param, ctx=ctx)
                try:
                    result = typers._coerce_value(value, param=param, ctx=ctx)
                except BadParameter:
                    raise _refused_number(kind, value, param, self.parameter_info) from None
            if kind is not None and not (
                _finite(result) and _in_bounds(result, self.parameter_info)
            ):
                raise _refused_number(kind, value, param, self.parameter_info)
            _check_length(result, param)
            return result

    def get_runtime_param(self):
        if self._runtime_param is None:
            descriptor = self.type_descriptor
            if descriptor.file_annotation is None and not descriptor.is_path:
                convert = converter(descriptor.annotation, descriptor.parameter_info)
                if convert is not None:
                    self._runtime_param = DirectParam(
                        parameter_info=descriptor.parameter_info,
                        annotation=descriptor.annotation,
                        convert=convert,
                        descriptor=descriptor,
                    )
        return original(self)

    parameter.get_runtime_param = get_runtime_param
    parameter._clm_direct = True
