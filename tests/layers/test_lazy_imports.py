"""``gradstep.layers`` imports each layer module on first use: its table of
names -> modules must agree with what the modules define and register."""

import importlib
import pkgutil
import subprocess
import sys

import gradstep
from gradstep import layers
from gradstep.layers import LAYERS


def _import_every_module():
    for module in pkgutil.walk_packages(gradstep.__path__, "gradstep."):
        importlib.import_module(module.name)


def test_every_public_name_resolves_to_an_object_of_the_module_the_table_names():
    outside = {"functional", "sequential", "oplayer"}  # registered by models and ops
    assert set(LAYERS.deferred_modules()) - outside == {
        name.lower() for name in layers.__all__ if name not in ("LAYERS", "Layer")
    }
    for name in layers.__all__:
        value = getattr(layers, name)
        module = getattr(value, "__module__", "")
        assert name in dir(layers), name
        if name not in ("LAYERS", "Layer"):
            table_module = LAYERS.deferred_modules()[name.lower()]
            assert module == table_module or module.startswith(table_module + "."), name


def test_the_table_names_every_layer_class_registered_and_its_module():
    """Every class any gradstep module registers is in the table, under the
    module that defines it (or the package that holds that module), so a
    saved config that names it imports the right module."""
    _import_every_module()
    table = LAYERS.deferred_modules()
    for name in LAYERS.names():
        assert name in table, f"{name} is registered but not in gradstep.layers' table"
        module = LAYERS.lookup(name).__module__
        assert module == table[name] or module.startswith(table[name] + "."), name


def test_a_fresh_process_resolves_every_name_and_star_import_gives_all():
    code = (
        "import sys, gradstep.layers as layers; from gradstep.layers import LAYERS; "
        "before = sorted(m for m in sys.modules if m.startswith('gradstep.layers.')); "
        "classes = [LAYERS.lookup_class(n).__name__ for n in "
        "('Dense', 'Conv2D', 'LSTM', 'Sequential', 'Functional', 'OpLayer')]; "
        "namespace = {}; exec('from gradstep.layers import *', namespace); "
        "print(before, classes, sorted(set(layers.__all__) - set(namespace)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("] [")[0] == "['gradstep.layers.base'"
    assert "['Dense', 'Conv2D', 'LSTM', 'Sequential', 'Functional', 'OpLayer'] []" in (
        result.stdout
    )


def test_a_layer_module_is_an_attribute_of_the_package():
    assert layers.convolutional.Conv2D is layers.Conv2D
    assert layers.recurrent.LSTM is layers.LSTM
