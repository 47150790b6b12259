"""The package's layers go one way (docs/layout.md, "Layers"): every `import` / `from ... import` of
an ecgfeat module, at module level or inside a function, reads the source (ast), never runs it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "ecgfeat"

# lowest first; a module may import from its own layer and the layers before it
LAYERS = [
    ("core", {"vocab", "record", "paths", "jsonable", "labels", "resources", "optional"}),
    ("datasets", {"datasets", "synth", "info"}),
    ("signal", {"signal"}),
    ("features", {"features", "api"}),
    ("draw", {"draw"}),
    ("store", {"store", "extraction", "pool", "_worker_preload", "cluster"}),
    ("models", {"models", "deep", "predict"}),
    ("evaluation", {"evaluation"}),
    ("training", {"training"}),
    ("explain", {"explain"}),
    ("report", {"report"}),
    ("cli", {"commands", "cli", "workspace", "__main__"}),
]
LAYER = {unit: i for i, (_, units) in enumerate(LAYERS) for unit in units}


def _module(path: Path) -> str:
    parts = ["ecgfeat", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (ROOT / rel / "__init__.py").is_file()


def imports() -> list[tuple[str, int, str, str | None]]:
    """(importer, line, imported module, imported name or None) of every ecgfeat import."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        mod = _module(path)
        pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target == "ecgfeat" or target.startswith("ecgfeat."):
                    for alias in node.names:
                        sub = f"{target}.{alias.name}"
                        is_module = (ROOT / Path(*sub.split(".")[1:])).with_suffix(".py").is_file()
                        if _is_package(target) and (_is_package(sub) or is_module):
                            out.append((mod, node.lineno, sub, None))      # `from pkg import submodule`
                        else:
                            out.append((mod, node.lineno, target, alias.name))
            elif isinstance(node, ast.Import):
                out.extend((mod, node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "ecgfeat")
    return out


def _unit(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward() -> set[tuple[str, str]]:
    """(importer, imported) pairs where a module imports from a later layer."""
    bad = set()
    for mod, _, target, _ in imports():
        if mod == "ecgfeat" or target == "ecgfeat":
            continue      # the lazy facade re-exports every layer; `from ecgfeat import __version__` is fine
        if LAYER[_unit(target)] > LAYER[_unit(mod)]:
            bad.add((mod, target))
    return bad


def private() -> set[tuple[str, str, str]]:
    """(importer, module, name) of a private name imported from another module, or a private
    module (`_read`) imported from outside its own package."""
    bad = set()
    for mod, _, target, name in imports():
        if name and name.startswith("_") and not name.startswith("__") and target != mod:
            bad.add((mod, target, name))
        parts = target.split(".")
        for i, p in enumerate(parts):
            if p.startswith("_") and not p.startswith("__"):
                owner = ".".join(parts[:i])
                if not (mod == owner or mod.startswith(owner + ".")):
                    bad.add((mod, target, name or ""))
                break
    return bad


def test_every_module_has_a_layer():
    units = {_unit(m) for m, *_ in imports()} | {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
                                                if (p.suffix == ".py" or (p / "__init__.py").is_file())}
    assert sorted(u for u in units - {"", "__init__"} if u not in LAYER) == []


def test_no_module_imports_from_a_later_layer():
    assert sorted(upward()) == []


def test_no_private_name_or_module_crosses_modules():
    assert sorted(private()) == []


def cycles() -> list[list[str]]:
    """Cycles of the graph of top-level units (models, deep, training, ...; lazy imports count)."""
    graph: dict[str, set[str]] = {}
    for mod, _, target, _ in imports():
        a, b = _unit(mod), _unit(target)
        if a and b and a != b:
            graph.setdefault(a, set()).add(b)
    found, state = [], {}

    def visit(u, path):
        state[u] = 1
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                found.append(path[path.index(v):] + [v])
            elif v not in state:
                visit(v, path + [v])
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            visit(u, [u])
    return found


def test_no_cycle_between_the_top_level_units():
    """deep <-> training (the CNN's data) was one; units of one layer must not form one either."""
    assert cycles() == []


def test_the_checks_catch_what_they_are_for(tmp_path, monkeypatch):
    """The scanner itself: a planted upward import, private name and cycle are found."""
    pkg = tmp_path / "ecgfeat"
    (pkg / "models").mkdir(parents=True)
    (pkg / "evaluation").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models" / "__init__.py").write_text("")
    (pkg / "evaluation" / "__init__.py").write_text("")
    (pkg / "models" / "m.py").write_text("def f():\n    from ..evaluation.e import g\n")
    (pkg / "evaluation" / "e.py").write_text("from ..models.m import _hidden\nfrom ..models import m\n")
    (pkg / "deep.py").write_text("from .models import m\n")
    (pkg / "predict.py").write_text("import ecgfeat.deep\n")
    (pkg / "models" / "n.py").write_text("from ..predict import x\n")
    monkeypatch.setitem(globals(), "ROOT", pkg)
    assert upward() == {("ecgfeat.models.m", "ecgfeat.evaluation.e")}
    assert private() == {("ecgfeat.evaluation.e", "ecgfeat.models.m", "_hidden")}
    assert ("ecgfeat.evaluation.e", 2, "ecgfeat.models.m", None) in imports()
    assert sorted(cycles()) == [["deep", "models", "predict", "deep"], ["models", "evaluation", "models"]]
