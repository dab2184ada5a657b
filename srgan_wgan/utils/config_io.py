"""Dataclass configs to and from plain dicts (JSON, TOML): nested dataclasses, tuples and optionals rebuilt from
the type hints, unknown keys refused. One round trip for run folders, recipes and release metadata."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from srgan_wgan.errors import ConfigError

T = TypeVar("T")


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if value is None:
        return None
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        for a in args:  # the first member that takes the value
            if dataclasses.is_dataclass(a) and isinstance(value, dict):
                return from_dict(a, value, where)
        return _convert(args[0], value, where) if len(args) == 1 else value
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return from_dict(tp, value, where)
    if origin is tuple and isinstance(value, (list, tuple)):
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, where) for v in value)
        return tuple(_convert(a, v, where) for a, v in zip(args, value)) if args else tuple(value)
    if origin is list and isinstance(value, (list, tuple)):
        (arg,) = typing.get_args(tp) or (Any,)
        return [_convert(arg, v, where) for v in value]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data`` (as :func:`dataclasses.asdict` or a TOML table gives it).

    Raises:
        ConfigError: on a key that ``cls`` does not have (named with ``where``).
    """
    if hasattr(cls, "migrate"):  # a dataclass may move keys of earlier versions to where they live now
        data = cls.migrate(data)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    data = {k: v for k, v in data.items() if k not in getattr(cls, "RETIRED_FIELDS", ())}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    return cls(**{k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()})


def replace_nested(obj: T, overrides: dict[str, Any]) -> T:
    """A copy of dataclass ``obj`` with dotted-path ``overrides`` (``{"train.steps": 10}``) applied."""
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, sub in nested.items():
        direct[head] = replace_nested(getattr(obj, head), sub)
    return dataclasses.replace(obj, **direct)  # type: ignore[type-var]
