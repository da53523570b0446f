"""The README's model table is the registry's: every model a user can name, its weights and
what it does, as ``cinegen models`` says them."""

from __future__ import annotations

from pathlib import Path

from cinegen.registry import MODELS

README = Path(__file__).resolve().parents[1] / "README.md"


def _table() -> dict[str, tuple[str, str]]:
    lines = README.read_text().splitlines()
    start = lines.index("| id | weights | tasks |")
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        model, weights, tasks = (cell.strip() for cell in line.strip("|").split("|"))
        rows[model.split()[0].strip("`")] = (weights, tasks)
    return rows


def test_the_readme_lists_every_model_with_its_weights_and_tasks() -> None:
    expected = {
        m.id: (m.weights.split(" (")[0], ", ".join(m.tasks))
        for m in MODELS.values()
        if not m.tiny_random
    }
    assert _table() == expected
