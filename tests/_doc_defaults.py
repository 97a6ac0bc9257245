"""The defaults a numpydoc docstring states, compared with the signature's.

A user reads ``low_hz : float, default=0.5`` and relies on it; a changed default
that the docstring does not follow is a silent behaviour change. The test modules
of each package call :func:`assert_documented_defaults` on its public names.
"""

from __future__ import annotations

import inspect
import re

_PARAM = re.compile(r"^\s*([\w, *]+?) : .*?,? ?default=(.*)$")


def documented_defaults(obj) -> dict[str, object]:
    """``{name: value}`` of every ``name : type, default=value`` line of ``obj``'s docstring."""
    lines = inspect.getdoc(obj).splitlines()
    out: dict[str, object] = {}
    i = 0
    while i < len(lines):
        m = _PARAM.match(lines[i])
        i += 1
        if not m:
            continue
        names, value = m.group(1), m.group(2).strip()
        while value.endswith("\\") and i < len(lines):  # continued on the next line
            value = value[:-1].rstrip() + " " + lines[i].strip()
            i += 1
        names = [n.strip() for n in names.split(",")]
        parsed = eval(value, {"__builtins__": {}})  # noqa: S307 - our own docstrings
        if len(names) > 1:
            out.update(zip(names, parsed))
        else:
            out[names[0]] = parsed
    return out


def assert_documented_defaults(obj) -> int:
    """Every default stated in ``obj``'s docstring is the signature's default.

    For a class, an instance built without arguments must also hold each stated
    default (what ``get_params`` reports and ``fit`` uses, whatever the signature
    shows). Returns the number of defaults checked, so a caller can assert it is
    not zero.
    """
    sig = inspect.signature(obj)
    stated = documented_defaults(obj)
    instance = obj() if inspect.isclass(obj) else None
    checked = 0
    for name, value in stated.items():
        param = sig.parameters.get(name)
        if param is None or param.default is inspect.Parameter.empty:
            continue
        assert param.default == value, (
            f"{obj.__qualname__}({name}=...) defaults to {param.default!r} but its "
            f"docstring says default={value!r}"
        )
        if instance is not None:
            assert getattr(instance, name) == value, (
                f"{obj.__qualname__}() holds {name}={getattr(instance, name)!r} but its "
                f"docstring says default={value!r}"
            )
        checked += 1
    return checked
