"""The package's import graph: no cycles, layers that import only the layers below, a `--help` that loads no heavy
library, and the NumPy-only modules without PyTorch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "whosthat"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every whosthat module `path` imports, wherever the import stands (top level, inside a function, or
    under TYPE_CHECKING): each is an edge of the graph. `from a import b` is an edge to `a.b` when that is a
    module, else to `a`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if target in known:
                    found.add(target)
                elif node.module in known:
                    found.add(node.module)
    return found - {module_name(path)}


def import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(f) for f in files}
    return {module_name(f): imported_modules(f, known) for f in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph, as the list of modules around it, or [] when it has none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 40 and "whosthat.models.model" in graph["whosthat.models.ensemble"]
    cycle = find_cycle(graph)
    assert not cycle, " -> ".join(cycle)


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


@pytest.mark.parametrize("module", ["whosthat.recognition.whitening", "whosthat.recognition.recogniser",
                                    "whosthat.recognition.openset", "whosthat.recognition.heads",
                                    "whosthat.models.file", "whosthat.models.records"])
def test_numpy_modules_import_no_torch(module: str) -> None:
    code = f"import sys, {module}; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False", f"importing {module} loads torch"


#: The layers, bottom first: a module imports only from its own layer and the layers before it (`version` is
#: part of the bottom layer; the package's `__init__` re-exports from every layer and stands above them all).
LAYERS = ["core", "vision", "recognition", "models", "training", "report", "audit", "video", "collection", "serve",
          "cli"]


def layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    return 0 if part == "version" else LAYERS.index(part)


def test_every_module_lives_in_a_layer() -> None:
    loose = [m for m in import_graph() if m not in ("whosthat", "whosthat.version") and m.split(".")[1] not in LAYERS]
    assert not loose


def test_layers_import_only_the_layers_below() -> None:
    graph = import_graph()
    upward = sorted(f"{source} -> {target}" for source, targets in graph.items() if source != "whosthat"
                    for target in targets if target != "whosthat" and layer(target) > layer(source))
    assert not upward, "\n".join(upward)


HEAVY = ("torch", "sklearn", "scipy", "cv2", "lancedb", "pyarrow", "ray", "av", "dlib", "onnxruntime", "fastapi")


def test_help_loads_no_network_nor_heavy_library() -> None:
    """`whosthat --help` and every `whosthat COMMAND --help` build their text from light modules only."""
    code = (
        "import contextlib, io, sys\n"
        "from whosthat.cli.main import COMMANDS, main\n"
        "names = [c.__name__.rsplit('.', 1)[1] for c in COMMANDS]\n"
        "for argv in [['--help'], *[[name, '--help'] for name in names]]:\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main(argv)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), len(names))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "[]" and int(out[-1]) >= 11, out


def test_registries_know_every_name_before_loading_it() -> None:
    """Each registry's names, listed before any implementation loads, are exactly the names registered."""
    code = (
        "from whosthat.collection.job import ENGINES\n"
        "from whosthat.recognition.heads import HEADS\n"
        "from whosthat.vision.detectors import DETECTORS\n"
        "from whosthat.vision.embedders import EMBEDDERS\n"
        "for registry in (DETECTORS, EMBEDDERS, HEADS, ENGINES):\n"
        "    before = registry.names()\n"
        "    registry.load_all()\n"
        "    assert registry.names() == before, (registry.family, before, registry.names())\n"
        "    assert all(callable(registry.get(name)) for name in before)\n"
        "print('ok')\n")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "ok\n"


def test_naming_photos_on_the_cpu_loads_no_pytorch(kpop_model_file: Path, datasets: Path) -> None:
    """With a CPU build of PyTorch, `predict` runs its networks in ONNX Runtime and never imports PyTorch (whose
    import is a large part of a cold start); with another build it asks PyTorch whether there is a GPU."""
    import importlib.metadata

    code = ("import sys, whosthat\n"
            "result = whosthat.load(sys.argv[1]).predict(sys.argv[2])\n"
            "print(len(result), 'torch' in sys.modules)\n")
    group = datasets / "blackpink" / "unlabeled" / "blackpink.jpg"
    out = subprocess.run([sys.executable, "-c", code, str(kpop_model_file), str(group)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert int(out[0]) == 4
    assert out[1] == str(not importlib.metadata.version("torch").endswith("+cpu"))
