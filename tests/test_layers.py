"""The house's contract: layers that point down only, and no import loop.

Every import counts, inside functions and under TYPE_CHECKING too: they are dependencies all the same. A
module may import from its own layer (as long as no loop forms) or from any layer below it, never from above.
A lower module that needs something of a higher one is handed it (a registry filled by plugins, a callback).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "digest"

# Top to bottom. A module belongs to the longest entry that is its name or a package above it.
LAYERS: list[tuple[str, ...]] = [
    ("digest.cli", "digest.__main__"),
    ("digest.commands",),  # one module per command: the state lock and the order of the work
    ("digest.weekly",),  # the weekly edition: the stored days of a week, on the daily's stages
    ("digest.pipeline",),  # the stages of one edition, in order
    ("digest.stages", "digest.llm_stages", "digest.readers"),  # classify and summarize behind one interface
    # the rooms: each imports only from below (and the room it is in)
    ("digest.sources", "digest.llm", "digest.classify", "digest.summarize", "digest.deliver", "digest.site"),
    # the report model, rendering, ranking, and what they stand on
    (
        "digest.report",
        "digest.render",
        "digest.chart",
        "digest.rank",
        "digest.interests",
        "digest.learn",
        "digest.prompts",
        "digest.figures",
        "digest.topic_model",
    ),
    # the ground floor
    (
        "digest",
        "digest.store",
        "digest.config",
        "digest.models",
        "digest.text",
        "digest.ids",
        "digest.net",
        "digest.retry",
        "digest.clock",
        "digest.errors",
        "digest.edition",
        "digest.secrets",
        "digest.lock",
        "digest.progress",
        "digest.cron",
        "digest.plugins",
        "digest.logs",
        "digest.urls",
        "digest.topics",
        "digest.data",
    ),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules `name` imports, anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            wanted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            # `from digest.deliver import ledger` names a module; `from digest.config import Config` does not
            wanted = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in wanted:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.split(".")[0] == "digest":
                targets.add(target)
    return targets


def layer_of(name: str) -> int:
    best, depth = None, -1
    for index, layer in enumerate(LAYERS):
        for entry in layer:
            if (name == entry or name.startswith(entry + ".")) and entry.count(".") > depth:
                best, depth = index, entry.count(".")
    assert best is not None, f"{name} is in no layer of tests/test_layers.py: place it"
    return best


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_import_points_down_or_sideways():
    upward = [
        f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
        for name, targets in graph().items()
        for target in targets
        if layer_of(target) < layer_of(name)
    ]
    assert upward == []


def test_no_module_imports_itself_back_through_others():
    edges = graph()
    loops, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                loops.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert loops == []


@pytest.mark.parametrize(
    "name, expected",
    [("digest.deliver.telegram", 5), ("digest.commands.run", 1), ("digest.store.runs", 7), ("digest.urls", 7)],
)
def test_a_module_belongs_to_the_layer_of_its_most_specific_entry(name, expected):
    assert layer_of(name) == expected
