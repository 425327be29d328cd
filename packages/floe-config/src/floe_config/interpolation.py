"""``${VAR}``, ``${VAR:default}`` and ``${VAR:-default}`` in string values, with ``$${`` for a literal ``${``.

Interpolation runs on every string scalar of a file before validation, so the field's type then coerces the result
(``"${ENABLED:true}"`` becomes ``True``). The result remembers whether any part came from the environment, so error
messages can show the ``${VAR}`` text the user wrote instead of a value that may be a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_REFERENCE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-?)(?P<default>.*))?", re.DOTALL)


class InterpolationError(ValueError):
    """A ``${...}`` reference is malformed or names an unset variable without a default."""


@dataclass(frozen=True)
class Interpolated:
    """The result of interpolating one string."""

    value: str
    """The string with every reference replaced."""
    variables: tuple[str, ...]
    """Names of the variables referenced, in order of appearance."""
    environment_variables: tuple[str, ...] = ()
    """Names of the variables whose value came from the environment, in order of appearance."""
    defaulted_variables: tuple[str, ...] = ()
    """Names of the variables that were unset (or empty) and took their default, in order of appearance."""

    @property
    def from_environment(self) -> bool:
        """Whether at least one reference took its value from the environment (not from its default)."""
        return bool(self.environment_variables)


def has_reference(text: str) -> bool:
    """Return whether ``text`` contains ``${`` (a reference or an escaped literal) and needs interpolating."""
    return "${" in text


def interpolate(text: str, environ: Mapping[str, str]) -> Interpolated:
    """Replace every ``${...}`` reference in ``text`` with its value from ``environ`` or its default.

    ``${VAR}`` requires ``VAR`` to be set; ``${VAR:default}`` and ``${VAR:-default}`` use the default when ``VAR`` is
    unset or empty; ``$${`` is a literal ``${``.

    Args:
        text: The string as written in the file.
        environ: Where variables are looked up (normally ``os.environ``).

    Returns:
        The interpolated string and what it was made from.

    Raises:
        InterpolationError: A reference is malformed, or names an unset variable that has no default.
    """
    out: list[str] = []
    names: list[str] = []
    from_env: list[str] = []
    defaulted: list[str] = []
    position = 0
    while True:
        start = text.find("${", position)
        if start < 0:
            out.append(text[position:])
            break
        if start > 0 and text[start - 1] == "$":
            # "$${" is an escaped literal "${": emit everything before the escape and the literal itself.
            out.append(text[position : start - 1])
            out.append("${")
            position = start + 2
            continue
        end = text.find("}", start + 2)
        if end < 0:
            raise InterpolationError(
                f"'${{' at character {start + 1} is never closed; write '${{VAR}}', '${{VAR:default}}', "
                "or '$${' for a literal '${'"
            )
        body = text[start + 2 : end]
        match = _REFERENCE.fullmatch(body)
        if match is None:
            raise InterpolationError(
                f"'${{{body}}}' is not a valid reference; write '${{VAR}}' or '${{VAR:default}}' "
                "(variable names are letters, digits and underscores)"
            )
        name, op, default = (
            match.group("name"),
            match.group("op"),
            match.group("default"),
        )
        names.append(name)
        value = environ.get(name)
        if value is not None and (value != "" or op is None):
            out.append(text[position:start])
            out.append(value)
            from_env.append(name)
        elif op is not None:
            out.append(text[position:start])
            out.append(default)
            defaulted.append(name)
        else:
            raise InterpolationError(
                f"environment variable '{name}' is not set and '${{{name}}}' has no default; "
                f"set {name} or write '${{{name}:default}}'"
            )
        position = end + 1
    return Interpolated(
        value="".join(out),
        variables=tuple(names),
        environment_variables=tuple(dict.fromkeys(from_env)),
        defaulted_variables=tuple(dict.fromkeys(defaulted)),
    )
