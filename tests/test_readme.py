"""The README's model table is the registry's: every model a user can name, its weights, what
it does, as ``cinegen models`` says them, and its GPU memory need per tier as ``cinegen
models --memory`` computes it. After a registry change, ``python -m tests.test_readme``
prints the table to paste."""

from __future__ import annotations

from pathlib import Path

from cinegen.engine.memory import TIERS, tier_table
from cinegen.registry import MODELS, ModelEntry

README = Path(__file__).resolve().parents[1] / "README.md"
HEADER = "| id | weights | tasks | " + " | ".join(TIERS) + " |"


def _table() -> dict[str, tuple[str, ...]]:
    lines = README.read_text().splitlines()
    start = lines.index(HEADER)
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        model, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        rows[model.split()[0].strip("`")] = tuple(cells)
    return rows


def _row(m: ModelEntry) -> tuple[str, ...]:
    tiers = tier_table(m)
    return (m.weights.split(" (")[0], ", ".join(m.tasks), *(tiers[t] for t in TIERS))


def _expected() -> dict[str, tuple[str, ...]]:
    return {m.id: _row(m) for m in MODELS.values() if not m.tiny_random}


def test_the_readme_lists_every_model_with_its_weights_tasks_and_memory_tiers() -> None:
    assert _table() == _expected()


if __name__ == "__main__":
    from cinegen.config import get_settings

    print(HEADER)
    print("|---" * (3 + len(TIERS)) + "|")
    for model, cells in _expected().items():
        default = " (default)" if model == get_settings().default_model else ""
        print(f"| `{model}`{default} | " + " | ".join(cells) + " |")
