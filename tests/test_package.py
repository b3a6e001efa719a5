"""Package-wide promises: NumPy is the only import of the core; no pickle."""

import re
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).parents[1] / "src" / "gradstep"


def test_import_gradstep_imports_numpy_only():
    code = (
        "import sys, gradstep; heavy = ['sklearn', 'matplotlib', 'numba', 'scipy', 'pandas', "
        "'tqdm', 'threadpoolctl', 'torch', 'keras']; print([m for m in heavy if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_no_pickle_anywhere_in_the_package():
    pattern = re.compile(r"\b(pickle|cPickle|dill|joblib\.load|allow_pickle\s*=\s*True)\b")
    offenders = [
        f"{path.name}:{number}"
        for path in SOURCE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each module's gradstep imports, at module level or inside a function."""
    import ast

    modules = {_module_name(path): path for path in SOURCE.rglob("*.py")}

    def resolve(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradstep"):
                found |= {resolve(f"{node.module}.{alias.name}") for alias in node.names}
            elif isinstance(node, ast.Import):
                found |= {resolve(a.name) for a in node.names if a.name.startswith("gradstep")}
        graph[name] = found - {name}
    return graph


def test_no_import_cycle_even_through_imports_inside_functions():
    """Modules import one way only: a newcomer can read them bottom-up."""
    graph = _imports()
    visiting, done, cycles = [], set(), []

    def visit(module):
        if module in visiting:
            cycles.append(visiting[visiting.index(module) :] + [module])
            return
        if module in done:
            return
        visiting.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert cycles == []


def test_no_module_reads_another_objects_private_attributes():
    """``obj._name`` is read only on ``self``/``cls``, or inside the module
    that defines it (a module's own helpers); saving, callbacks and the lab go
    through public methods."""
    import ast

    offenders = []
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        defined = {
            node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)
        } | {
            target.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for assigned in node.targets
            for target in ast.walk(assigned)
            if isinstance(target, ast.Attribute)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            if node.attr.startswith("__") or node.attr in defined:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
