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
