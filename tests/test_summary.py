from pathlib import Path

import pytest

import functional_models
import gradstep
from gradstep import layers, models
from gradstep.summary import readable_size

REFERENCE = (Path(__file__).parent / "fixtures" / "reference_summary.txt").read_text()


def _reference_model():
    model = models.Sequential(name="sequential")
    model.add(layers.Dense(512, activation="relu", input_shape=(64,), name="dense"))
    model.add(layers.Dense(10, activation="softmax", name="dense_1"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_reference_summary_is_exactly_the_classic_layout(capsys):
    """SEED_FACTS 5, byte for byte (the fixture is copied from SEED_FACTS.md)."""
    _reference_model().summary()
    assert capsys.readouterr().out == REFERENCE


def test_every_row_is_65_characters():
    lines = []
    _reference_model().summary(print_fn=lines.append)
    table = lines[1 : lines.index("=" * 65, 4) + 1]
    assert all(len(line) == 65 for line in table)


def test_analogous_layout_for_other_models():
    model = models.Sequential(
        [
            layers.Input(shape=(8, 8)),
            layers.Flatten(name="flat"),
            layers.Dense(32, activation="relu", name="hidden"),
            layers.Dropout(0.2, name="drop"),
            layers.Dense(1, name="out"),
        ],
        name="other",
    )
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "other"'
    assert lines[4] == " flat (Flatten)              (None, 64)                0         "
    assert lines[6] == " hidden (Dense)              (None, 32)                2080      "
    assert lines[8] == " drop (Dropout)              (None, 32)                0         "
    assert lines[-4] == "Total params: 2113 (8.25 KB)"


def test_float64_weights_count_8_bytes():
    model = models.Sequential([layers.Dense(128, input_shape=(1,), dtype="float64")])
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-4] == "Total params: 256 (2.00 KB)"


def test_long_names_are_cut_to_the_column():
    model = models.Sequential([layers.Dense(1, input_shape=(1,), name="a" * 40)])
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[4].startswith(" " + "a" * 26 + "  ")


@pytest.mark.parametrize(
    "size, text",
    [(0, "0.00 Byte"), (153640, "150.04 KB"), (3 * 1024**2, "3.00 MB"), (1023, "1023.00 Byte")],
)
def test_readable_size(size, text):
    assert readable_size(size) == text


# --- functional models: TF-Keras 2.15's tables (tools/make_summary_fixtures.py) ----------
@pytest.mark.parametrize(
    "name", ["two_inputs_shared_residual", "a_chain", "long_names_and_a_flatten_called_twice"]
)
def test_functional_summary_is_tf_keras_table_byte_for_byte(name, capsys):
    """The "Connected to" column for branches and shared layers, long fields
    carried to the next line, "multiple" for a layer whose calls' shapes
    differ, and the three-column table for a chain (with its InputLayer)."""
    expected = (Path(__file__).parent / "fixtures" / "summaries" / f"{name}.txt").read_text()
    getattr(functional_models, name)(gradstep).summary()
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize("name", ["mnist_convnet", "batchnorm_mlp"])
def test_layer_models_summary_is_tf_keras_table_byte_for_byte(name, capsys):
    """keras.io's MNIST convnet (Conv2D, MaxPooling2D, type names cut to the
    column as TF-Keras cuts them) and an MLP with BatchNormalization (its
    moving statistics counted as non-trainable parameters): TF-Keras's tables."""
    expected = (Path(__file__).parent / "fixtures" / "summaries" / f"{name}.txt").read_text()
    getattr(functional_models, name)(gradstep).summary()
    assert capsys.readouterr().out == expected
