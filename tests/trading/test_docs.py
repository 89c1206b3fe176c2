"""docs/procedures.md lists every row, limit and article of the code's table (no drift)."""
from __future__ import annotations

from pathlib import Path

from trading import fsm, procedures

DOC = (Path(__file__).resolve().parents[2] / "docs" / "procedures.md").read_text("utf-8")


def test_every_limit_and_article_is_documented():
    for config in procedures.PROCEDURES.values():
        assert f"`{config.key}`" in DOC
        for name, limit in config.limits().items():
            assert f"| `{name}` | {limit.describe()} | {limit.article} |" in DOC, (config.key, name)
    for name in fsm.TRANSITIONS:
        assert f"| `{name}` |" in DOC
