import importlib
import sys

import pytest

from gradstep.registry import Registry


def test_lookup_is_case_insensitive_and_suggests_close_names():
    registry = Registry("widget")

    @registry.register("round_widget", "rw")
    class RoundWidget:
        pass

    assert registry.lookup("ROUND_widget") is RoundWidget
    assert registry.lookup("rw") is RoundWidget
    assert registry.lookup_class("RoundWidget") is RoundWidget
    with pytest.raises(
        ValueError, match="Unknown widget 'round_widgit' for shape. Did you mean 'round_widget'"
    ):
        registry.lookup("round_widgit", "shape")
    with pytest.raises(TypeError, match="must be a string name, received 3"):
        registry.lookup(3)
    with pytest.raises(ValueError, match="Unknown widget class 'os.system'"):
        registry.lookup_class("os.system")


@pytest.fixture
def lazy_family(tmp_path, monkeypatch):
    """A package whose registry is filled by two modules that are not imported
    until a lookup needs them."""
    package = tmp_path / "lazy_widgets"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from gradstep.registry import Registry\n"
        "WIDGETS = Registry('widget')\n"
        "WIDGETS.defer({'round': 'lazy_widgets.round', 'Square': 'lazy_widgets.square'})\n"
    )
    (package / "round.py").write_text(
        "from lazy_widgets import WIDGETS\n\n@WIDGETS.register('round')\nclass Round:\n    pass\n"
    )
    (package / "square.py").write_text(
        "from lazy_widgets import WIDGETS\n\n"
        "@WIDGETS.register('Square', 'box')\nclass Square:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("lazy_widgets")
    for name in [m for m in sys.modules if m.startswith("lazy_widgets")]:
        del sys.modules[name]


def test_a_deferred_name_imports_only_its_module(lazy_family):
    widgets = lazy_family.WIDGETS
    assert "lazy_widgets.round" not in sys.modules
    assert widgets.lookup("ROUND").__name__ == "Round"
    assert "lazy_widgets.round" in sys.modules
    assert "lazy_widgets.square" not in sys.modules
    assert widgets.lookup_class("Square").__name__ == "Square"
    assert widgets.deferred_modules() == {
        "round": "lazy_widgets.round",
        "square": "lazy_widgets.square",
    }


def test_a_name_the_table_does_not_know_imports_every_module(lazy_family):
    widgets = lazy_family.WIDGETS
    assert widgets.lookup("box").__name__ == "Square"  # registered, though not in the table
    assert "lazy_widgets.round" in sys.modules


def test_an_unknown_name_lists_every_deferred_name(lazy_family):
    with pytest.raises(ValueError, match="Expected one of: box, round, square"):
        lazy_family.WIDGETS.lookup("hexagon")
    assert lazy_family.WIDGETS.has_class("Round")


def test_membership_and_names_see_the_deferred_names(lazy_family):
    assert "square" in lazy_family.WIDGETS
    assert lazy_family.WIDGETS.names() == ["box", "round", "square"]
