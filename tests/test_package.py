"""Package-wide promises: NumPy is the only import of the core; no pickle."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[1] / "src" / "gradstep"


def _modules_imported_by(code: str) -> list[str]:
    """The top-level packages that ``code`` imports, in a fresh interpreter,
    beyond those the interpreter itself starts with."""
    script = (
        "import sys; before = set(sys.modules); "
        f"{code}; "
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return eval(result.stdout)  # a list of names printed by the line above


def _outside_numpy_and_the_standard_library(packages: list[str]) -> list[str]:
    # NumPy's compiled modules (numpy.random) bring Cython's runtime: cython_runtime, ...
    return [
        name
        for name in packages
        if name not in ("numpy", "gradstep")
        and not name.lstrip("_").startswith("cython")
        and name not in sys.stdlib_module_names
    ]


def test_import_gradstep_imports_numpy_only():
    heavy = ["sklearn", "matplotlib", "numba", "scipy", "pandas", "tqdm", "threadpoolctl"]
    imported = _modules_imported_by("import gradstep")
    assert [name for name in heavy + ["torch", "keras"] if name in imported] == []
    assert _outside_numpy_and_the_standard_library(imported) == []


def test_building_and_compiling_a_model_imports_numpy_only():
    imported = _modules_imported_by(
        "import gradstep as keras; "
        "model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(3, "
        "activation='softmax')]); "
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
        "metrics=['accuracy'])"
    )
    assert _outside_numpy_and_the_standard_library(imported) == []


def test_import_gradstep_imports_no_subpackage_until_one_is_read():
    """``import gradstep`` stays quick: each subpackage is imported on first use."""
    code = "import sys, gradstep; print(sorted(m for m in sys.modules if m.startswith('gradstep')))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert eval(result.stdout) == ["gradstep", "gradstep.version"]


def test_every_public_name_of_the_package_resolves():
    import gradstep

    assert set(gradstep.__all__) <= set(dir(gradstep))
    for name in gradstep.__all__:
        assert getattr(gradstep, name) is not None, name
    assert gradstep.Sequential is gradstep.models.Sequential
    assert gradstep.Input is gradstep.layers.Input
    assert gradstep.Metric is gradstep.metrics.Metric
    with pytest.raises(AttributeError, match="no attribute 'Dense'"):
        gradstep.Dense  # noqa: B018 (the attribute access is the test)


def test_a_saved_model_loads_in_a_fresh_process_that_only_imported_gradstep(tmp_path):
    """The layer classes a saved model names (a convolution, a functional
    model, an op's node) are found though their modules were never imported."""
    import numpy as np

    import gradstep as keras

    inputs = keras.layers.Input((6, 6, 1))
    x = keras.layers.Conv2D(2, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3)(keras.ops.tanh(x))
    inner = keras.Model(inputs, outputs)
    model = keras.Sequential([keras.layers.Input((6, 6, 1)), inner, keras.layers.Softmax()])
    images = np.random.default_rng(0).random((2, 6, 6, 1)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "expected.npy", model.predict(images, verbose=0))
    model.save(tmp_path / "model.gradstep")
    code = (
        "import sys, numpy as np, gradstep; "
        f"folder = {str(tmp_path)!r}; "
        "model = gradstep.models.load_model(folder + '/model.gradstep'); "
        "got = model.predict(np.load(folder + '/images.npy'), verbose=0); "
        "print(float(np.max(np.abs(got - np.load(folder + '/expected.npy')))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert float(result.stdout) == 0.0


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
