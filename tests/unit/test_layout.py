"""The house's shape, checked: rooms by role, imports one way, no cycles, small files, a core that never names the
demo's task. A copy of a route drifts into bugs (it did: eval ignored the accuracy reward's args), and a cycle or a
stray import is how a room stops meaning anything, so these fail the moment one creeps back."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("rlkd", "rewards", "curricula")
CORE_ROOMS = ("rlkd/config", "rlkd/training", "rlkd/generation", "rlkd/data", "rlkd/model.py", "rlkd/errors.py")
MAX_LINES = 450
MAX_TOP_LEVEL_MODULES = 8


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every project module `path` imports, at module level or inside a function (a lazy import is still a
    dependency)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the DFS stack, 2: done

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep, stack)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_no_import_cycle():
    graph = {name: _imports(path) - {name} for name, path in MODULES.items()}
    assert _cycle(graph) is None


@pytest.mark.parametrize("package", ["rewards", "curricula"])
def test_rewards_and_curricula_never_import_rlkd(package):
    offenders = {
        name: sorted(m for m in _imports(path) if m.split(".")[0] == "rlkd")
        for name, path in MODULES.items()
        if name.split(".")[0] == package
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_rlkd_top_level_keeps_at_most_eight_modules():
    top = sorted(p.name for p in (REPO / "rlkd").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_module_over_450_lines():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def _core_paths() -> list[Path]:
    paths = []
    for room in CORE_ROOMS:
        target = REPO / room
        paths += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return paths


def _string_constants(tree: ast.AST) -> set[str]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


def test_the_core_never_names_the_demo_task():
    # config, training, generation and data find tasks by name through rlkd.data.generators; the demo kit is
    # found through its entry point, like a user's task would be
    for path in _core_paths():
        tree = ast.parse(path.read_text())
        deps = _imports(path)
        assert not any(m == "rlkd.demo" or m.startswith("rlkd.demo.") for m in deps), path
        assert not any("arithmetic" in s for s in _string_constants(tree)), path


def test_every_package_directory_is_a_package():
    # package discovery ships only directories with an __init__.py: a room without one would be missing from the
    # wheel (tests/integration/test_wheel.py installs it to be sure)
    for package in PACKAGES:
        for folder in [REPO / package, *(p for p in (REPO / package).rglob("*") if p.is_dir())]:
            if folder.name != "__pycache__" and any(folder.glob("*.py")):
                assert (folder / "__init__.py").is_file(), folder
