"""What the YAML files people write (bot rules, alert rules) share: one error that lists every problem."""

from __future__ import annotations


class ConfigFileError(ValueError):
    """A file that cannot be used; `problems` are (place in the file, what is wrong) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"  {place or '(top level)'}: {message}" for place, message in problems]
        super().__init__(f"{source} has {len(problems)} problem(s):\n" + "\n".join(lines))
