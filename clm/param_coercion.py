"""Option and argument values converted without pydantic.

Typer 0.29 converts every parameter of a command through a pydantic `TypeAdapter`, even one
left unset: each command imported pydantic and built a core schema per parameter before it
ran (about a tenth of `clm customer list`). The values clm takes are plain (strings, flags,
ints, floats, choices, lists of them), so `install()` gives those types a direct conversion with
Typer's own results. A value it does not accept (`--health abc`, an unknown `--format`), and
every other type, goes through Typer's own conversion: its results and its error messages.
"""

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


def converter(annotation, info) -> Callable[[Any, Any], Any] | None:
    """The direct conversion of a parameter of this annotation and `ParameterInfo`, or None
    to leave it to Typer (paths, files, custom parsers, ranges, anything else)."""
    if info.parser is not None or getattr(info, "min", None) is not None:
        return None
    if getattr(info, "max", None) is not None or getattr(info, "clamp", False):
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
            try:
                return self.convert(value, ctx)
            except (_Declined, ValueError):
                return build(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

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
