"""The docs describe the product as it is: every setting documented, every command in the README."""

from __future__ import annotations

from pathlib import Path

from linda.cli import app
from linda.cli.admin import settings_markdown
from linda.settings import describe

ROOT = Path(__file__).parent.parent


def test_every_setting_is_documented_as_the_code_says() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert settings_markdown() in text, "docs/configuration.md is stale: paste `linda settings --markdown`"
    assert all(f"`{row['env']}`" in text for row in describe())


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback] + [
        group.name for group in app.registered_groups
    ]
    missing = [name for name in names if f"linda {name}" not in readme]
    assert missing == []
