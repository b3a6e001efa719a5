"""Every mistake in the input is caught with a message naming the argument, what
was expected and what was received: one table for fit, evaluate, predict,
compile, layers, losses and optimizers. Then: divergence is reported, not hidden."""

import numpy as np
import pytest

from gradstep import callbacks, layers, losses, models, optimizers
from gradstep.validation import NotCompiledError

FEATURES, CLASSES, SAMPLES = 5, 3, 64


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, y


def _model(loss="sparse_categorical_crossentropy", units=CLASSES, activation="softmax", **kw):
    model = models.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(FEATURES,)),
            layers.Dense(units, activation=activation),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"], **kw)
    return model


def _classifier(method, **kwargs):
    """Call ``method`` of a compiled sparse classifier with the table's arguments."""

    def call():
        x, y = _data()
        arguments = {"x": x, "y": y, **kwargs}
        if method == "predict":
            arguments.pop("y")
        if method in ("fit", "evaluate", "predict"):
            arguments.setdefault("verbose", 0)
        return getattr(_model(), method)(**arguments)

    return call


def _one_hot(method, width):
    def call():
        x, y = _data()
        model = _model(loss="categorical_crossentropy")
        return getattr(model, method)(x, np.eye(width)[y % width], verbose=0)

    return call


def _regression(method, y):
    def call():
        x, _ = _data()
        model = _model(loss="mse", units=1, activation=None)
        return getattr(model, method)(x, y, verbose=0)

    return call


x, y = _data()
NAN_X = np.where(x > 1.5, np.nan, x)
INF_X = np.where(x > 1.5, np.inf, x)
TARGETS = np.linspace(0, 1, SAMPLES, dtype=np.float32)

CASES = {
    # --- x and y: samples, features, values ------------------------------------------
    "fit: x and y of different lengths": (
        _classifier("fit", y=y[:-1]),
        ValueError,
        r"x and y must have the same number of samples, received x with 64 \(shape \(64, 5\)\) "
        r"and y with 63 \(shape \(63,\)\)",
    ),
    "evaluate: x and y of different lengths": (
        _classifier("evaluate", x=x[:10]),
        ValueError,
        "x and y must have the same number of samples, received x with 10",
    ),
    "fit: a feature dimension that differs from the model's input": (
        _classifier("fit", x=x[:, :4]),
        ValueError,
        r"x has samples of shape \(4,\), but the model expects \(5,\) \(input_shape of the first "
        r"layer\); received x of shape \(64, 4\)",
    ),
    "evaluate: a feature dimension that differs": (
        _classifier("evaluate", x=np.hstack([x, x])),
        ValueError,
        r"x has samples of shape \(10,\), but the model expects \(5,\)",
    ),
    "predict: a feature dimension that differs": (
        _classifier("predict", x=x[:, :2]),
        ValueError,
        r"x has samples of shape \(2,\), but the model expects \(5,\)",
    ),
    "predict: no feature axis": (
        _classifier("predict", x=x[:, 0]),
        ValueError,
        r"x must have a batch axis and a feature axis, received shape \(64,\)",
    ),
    "fit: NaN in x": (
        _classifier("fit", x=NAN_X),
        ValueError,
        r"x must be finite, received nan at index \(\d+, \d+\)",
    ),
    "fit: infinity in x": (
        _classifier("fit", x=INF_X),
        ValueError,
        r"x must be finite, received inf at index",
    ),
    "evaluate: NaN in x": (_classifier("evaluate", x=NAN_X), ValueError, "x must be finite"),
    "predict: infinity in x": (_classifier("predict", x=-INF_X), ValueError, "received -inf"),
    "fit: NaN in y": (
        _regression("fit", np.where(TARGETS > 0.5, np.nan, TARGETS)),
        ValueError,
        r"y must be finite, received nan at index \(\d+,\)",
    ),
    "evaluate: infinity in y": (
        _regression("evaluate", np.where(TARGETS > 0.5, np.inf, TARGETS)),
        ValueError,
        "y must be finite, received inf",
    ),
    "fit: an empty data set": (
        _classifier("fit", x=x[:0], y=y[:0]),
        ValueError,
        r"x is empty: expected at least one sample, received shape \(0, 5\)",
    ),
    "evaluate: an empty data set": (
        _classifier("evaluate", x=x[:0], y=y[:0]),
        ValueError,
        "x is empty",
    ),
    "predict: an empty data set": (_classifier("predict", x=x[:0]), ValueError, "x is empty"),
    "fit: x missing": (
        _classifier("fit", x=None),
        ValueError,
        "x is required: an array of samples, received None",
    ),
    "fit: y missing": (
        _classifier("fit", y=None),
        ValueError,
        "y is required: the targets for x, received None",
    ),
    "fit: x of strings": (
        _classifier("fit", x=x.astype(str)),
        TypeError,
        "x must hold numbers, received an array of dtype <U",
    ),
    "fit: y of strings": (
        _classifier("fit", y=y.astype(str)),
        TypeError,
        "y must hold numbers, received an array of dtype <U",
    ),
    # --- labels and targets against the model's output -------------------------------
    "fit: sparse labels outside [0, classes)": (
        _classifier("fit", y=y + 3),
        ValueError,
        r"y does not fit the loss 'sparse_categorical_crossentropy' and the model's outputs of "
        r"shape \(None, 3\): y_true holds class label \d, outside the range \[0, 3\) of the "
        r"model's 3 outputs",
    ),
    "evaluate: sparse labels outside [0, classes)": (
        _classifier("evaluate", y=np.full(SAMPLES, 7)),
        ValueError,
        r"class label 7, outside the range \[0, 3\)",
    ),
    "fit: negative sparse labels": (
        _classifier("fit", y=y - 1),
        ValueError,
        r"y_true holds class label -1, outside the range \[0, 3\)",
    ),
    "fit: sparse labels that are not integers": (
        _classifier("fit", y=y + 0.5),
        ValueError,
        r"y_true must hold integer class labels in \[0, 3\), received \d.5",
    ),
    "fit: one-hot targets wider than the output": (
        _one_hot("fit", 4),
        ValueError,
        r"y does not fit the loss 'categorical_crossentropy' and the model's outputs of shape "
        r"\(None, 3\): y_true and y_pred .*y_true \(64, 4\),? (and )?y_pred \(64, 3\)",
    ),
    "evaluate: one-hot targets narrower than the output": (
        _one_hot("evaluate", 2),
        ValueError,
        r"y_true \(64, 2\),? (and )?y_pred \(64, 3\)",
    ),
    "fit: regression targets wider than the output": (
        _regression("fit", np.stack([TARGETS] * 3, axis=1)),
        ValueError,
        r"y must hold one target of shape \(1,\) per sample \(the model's output shape\) for the "
        r"loss 'mean_squared_error', received y of shape \(64, 3\)",
    ),
    # --- fit's other arguments ---------------------------------------------------------
    "fit: batch_size 0": (
        _classifier("fit", batch_size=0),
        ValueError,
        "batch_size must be a positive integer, received 0",
    ),
    "fit: batch_size not an integer": (
        _classifier("fit", batch_size=8.0),
        ValueError,
        "batch_size must be a positive integer, received 8.0",
    ),
    "fit: batch_size a string": (
        _classifier("fit", batch_size="32"),
        ValueError,
        "batch_size must be a positive integer, received '32'",
    ),
    "evaluate: batch_size negative": (
        _classifier("evaluate", batch_size=-1),
        ValueError,
        "batch_size must be a positive integer, received -1",
    ),
    "predict: batch_size a bool": (
        _classifier("predict", batch_size=True),
        ValueError,
        "batch_size must be a positive integer, received True",
    ),
    "fit: epochs 0": (
        _classifier("fit", epochs=0),
        ValueError,
        "epochs must be a positive integer, received 0",
    ),
    "fit: epochs not an integer": (
        _classifier("fit", epochs=1.5),
        ValueError,
        "epochs must be a positive integer, received 1.5",
    ),
    "fit: initial_epoch negative": (
        _classifier("fit", initial_epoch=-1),
        ValueError,
        "initial_epoch must be a non-negative integer, received -1",
    ),
    "fit: validation_split 1": (
        _classifier("fit", validation_split=1.0),
        ValueError,
        r"validation_split must be a float in \[0, 1\), received 1.0",
    ),
    "fit: validation_split negative": (
        _classifier("fit", validation_split=-0.2),
        ValueError,
        r"validation_split must be a float in \[0, 1\), received -0.2",
    ),
    "fit: validation_split a string": (
        _classifier("fit", validation_split="0.2"),
        ValueError,
        r"validation_split must be a float in \[0, 1\), received '0.2'",
    ),
    "fit: validation_split leaving no validation sample": (
        _classifier("fit", validation_split=0.99),
        ValueError,
        "validation_split=0.99 leaves no samples for training or validation out of 64",
    ),
    "fit: validation_data not a tuple": (
        _classifier("fit", validation_data=x),
        ValueError,
        r"validation_data must be a tuple \(x_val, y_val\)",
    ),
    "fit: validation_data of the wrong feature dimension": (
        _classifier("fit", validation_data=(x[:, :3], y)),
        ValueError,
        r"validation_data \(x_val, y_val\): x has samples of shape \(3,\), but the model expects",
    ),
    "fit: sample_weight of the wrong length": (
        _classifier("fit", sample_weight=np.ones(10)),
        ValueError,
        r"sample_weight must have one weight per sample \(64\), received shape \(10,\)",
    ),
    "fit: class_weight missing a class": (
        _classifier("fit", class_weight={0: 1.0, 1: 2.0}),
        ValueError,
        r"class_weight has no weight for class 2; received weights for \[0, 1\]",
    ),
    "fit: verbose 3": (
        _classifier("fit", verbose=3),
        ValueError,
        "verbose must be 'auto', 0, 1 or 2, received 3",
    ),
    # --- compile, and calls before it -----------------------------------------------
    "fit before compile": (
        lambda: models.Sequential([layers.Dense(1, input_shape=(5,))]).fit(x, y),
        ValueError,
        r"You must call compile\(\) before fit\(\): e.g. model.compile\(optimizer='adam'",
    ),
    "evaluate before compile": (
        lambda: models.Sequential([layers.Dense(1, input_shape=(5,))]).evaluate(x, y),
        ValueError,
        r"You must call compile\(\) before evaluate\(\)",
    ),
    "compile: unknown optimizer": (
        lambda: _compile(optimizer="adamm"),
        ValueError,
        r"Unknown optimizer 'adamm' for optimizer. Did you mean 'adam'.* Expected one of: ",
    ),
    "compile: optimizer of the wrong type": (
        lambda: _compile(optimizer=3),
        TypeError,
        "optimizer must be a name such as 'adam' or a gradstep.optimizers.Optimizer, received 3",
    ),
    "compile: unknown loss": (
        lambda: _compile(loss="sparse_categorical_crossentropyy"),
        ValueError,
        r"Unknown loss 'sparse_categorical_crossentropyy' for loss. Did you mean "
        r"'sparse_categorical_crossentropy'",
    ),
    "fit: compiled without a loss, nothing added": (
        lambda: _fit_without_loss(),
        ValueError,
        "No loss to compute: compile\\(\\) was given no loss",
    ),
    "compile: unknown metric": (
        lambda: _compile(metrics=["acuracy"]),
        ValueError,
        r"Unknown metric 'acuracy' for metrics. Did you mean 'accuracy' or .*"
        r" Expected one of: acc, ",
    ),
    "compile: metrics not a list": (
        lambda: _compile(metrics="accuracy"),
        TypeError,
        r"metrics must be a list such as \['accuracy'\], received 'accuracy'",
    ),
    "compile: a metric of the wrong type": (
        lambda: _compile(metrics=[3]),
        TypeError,
        "each metric must be a name such as 'accuracy' or a function, received 3",
    ),
    # --- layers ----------------------------------------------------------------------
    "Dense: units 0": (
        lambda: layers.Dense(0),
        ValueError,
        "units must be a positive integer, received 0",
    ),
    "Dense: units not an integer": (
        lambda: layers.Dense(2.5),
        ValueError,
        "units must be a positive integer, received 2.5",
    ),
    "Dense: unknown activation": (
        lambda: layers.Dense(4, activation="rellu"),
        ValueError,
        r"Unknown activation 'rellu' for activation. Did you mean 'relu'",
    ),
    "Activation: unknown activation": (
        lambda: layers.Activation("sigmoidd"),
        ValueError,
        r"Unknown activation 'sigmoidd' for activation. Did you mean 'sigmoid'",
    ),
    "Dense: unknown kernel initializer": (
        lambda: layers.Dense(4, kernel_initializer="glorot_unifrom"),
        ValueError,
        r"Unknown initializer 'glorot_unifrom' for initializer. Did you mean 'glorot_uniform'",
    ),
    "Dense: unknown bias initializer": (
        lambda: layers.Dense(4, bias_initializer="zeroes"),
        ValueError,
        r"Unknown initializer 'zeroes' for initializer. Did you mean 'zeros'",
    ),
    "Dense: unknown argument": (
        lambda: layers.Dense(4, activaton="relu"),
        TypeError,
        r"Unrecognized keyword arguments for Dense: \['activaton'\]",
    ),
    "Dropout: rate 1": (
        lambda: layers.Dropout(1.0),
        ValueError,
        r"rate must be a float in \[0, 1\), received 1.0",
    ),
    "Input: no shape": (lambda: layers.InputLayer(), ValueError, "InputLayer needs shape"),
    # --- losses called directly --------------------------------------------------------
    "loss: sparse labels outside [0, classes)": (
        lambda: losses.SparseCategoricalCrossentropy()(np.array([0, 3]), np.full((2, 3), 1 / 3)),
        ValueError,
        r"y_true holds class label 3, outside the range \[0, 3\)",
    ),
    "loss: negative sparse labels": (
        lambda: losses.SparseCategoricalCrossentropy()(np.array([-2, 0]), np.full((2, 3), 1 / 3)),
        ValueError,
        r"y_true holds class label -2",
    ),
    "loss: sparse labels that are not integers": (
        lambda: losses.SparseCategoricalCrossentropy()(np.array([0.5, 1]), np.full((2, 3), 1 / 3)),
        ValueError,
        r"y_true must hold integer class labels in \[0, 3\), received 0.5",
    ),
    "loss: one-hot width differs from y_pred": (
        lambda: losses.CategoricalCrossentropy()(np.eye(4)[:2], np.full((2, 3), 1 / 3)),
        ValueError,
        r"y_true and y_pred .*y_true \(2, 4\),? (and )?y_pred \(2, 3\)",
    ),
    "loss: incompatible shapes": (
        lambda: losses.MeanSquaredError()(np.zeros((2, 3)), np.zeros((2, 4))),
        ValueError,
        r"incompatible shapes: y_true \(2, 3\), y_pred \(2, 4\)",
    ),
    "loss: sample_weight of the wrong shape": (
        lambda: losses.MeanSquaredError()(np.zeros((4, 1)), np.zeros((4, 1)), np.ones(3)),
        ValueError,
        r"sample_weight of shape \(3,\) does not match the per-sample losses of shape \(4,\)",
    ),
    "loss: unknown reduction": (
        lambda: losses.MeanSquaredError(reduction="average"),
        ValueError,
        "reduction must be one of .* received 'average'",
    ),
    "loss: unknown name": (
        lambda: losses.get("mean_squared_eror"),
        ValueError,
        "Unknown loss 'mean_squared_eror' for loss. Did you mean 'mean_squared_error'",
    ),
    # --- optimizers --------------------------------------------------------------------
    "optimizer: negative learning rate": (
        lambda: optimizers.Adam(learning_rate=-0.1),
        ValueError,
        "learning_rate must be a non-negative float or a schedule, received -0.1",
    ),
    "optimizer: unknown name": (
        lambda: optimizers.get("rmsprob"),
        ValueError,
        "Unknown optimizer 'rmsprob' for optimizer. Did you mean 'rmsprop'",
    ),
}


def _fit_without_loss():
    model = models.Sequential([layers.Dense(3, input_shape=(FEATURES,))])
    model.compile(optimizer="adam")
    model.fit(np.zeros((4, FEATURES)), np.zeros((4, 3)), verbose=0)


def _compile(**kwargs):
    model = models.Sequential([layers.Dense(3, input_shape=(FEATURES,))])
    model.compile(**{"optimizer": "adam", "loss": "mse", "metrics": [], **kwargs})


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_caught_with_a_message_naming_it(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def test_fit_before_compile_is_also_a_runtime_error_as_before():
    with pytest.raises(RuntimeError) as raised:
        models.Sequential([layers.Dense(1, input_shape=(5,))]).fit(x, y)
    assert isinstance(raised.value, NotCompiledError)


def test_an_unknown_metric_fails_at_compile_before_any_step():
    model = models.Sequential([layers.Dense(3, input_shape=(FEATURES,))], seed=0)
    before = model.get_weights()
    with pytest.raises(ValueError, match="Unknown metric"):
        model.compile(optimizer="sgd", loss="mse", metrics=["mea"])
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


# --- divergence is reported, not hidden --------------------------------------------------
def _diverging(terminate_on_nan=True):
    model = models.Sequential([layers.Dense(1, input_shape=(FEATURES,))], seed=0)
    model.compile(optimizer=optimizers.SGD(learning_rate=1e6), loss="mse")
    model.terminate_on_nan = terminate_on_nan
    x, _ = _data()
    return model, x * 1e3, TARGETS * 1e3


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_fit_stops_at_the_first_non_finite_loss_and_says_where(capsys):
    model, x, y = _diverging()
    weights_before_batch = []

    class Record(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            weights_before_batch.append(model.get_weights())

    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[Record()])
    epoch, batch = model.diverged_at
    out = capsys.readouterr().out
    assert out.startswith(
        f"Epoch {epoch + 1}, batch {batch + 1}: Invalid loss, terminating training: the loss is "
    )
    assert "try a lower learning rate (it is 1e+06)" in out and "from_logits=True" in out
    assert len(history.history["loss"]) == epoch + 1
    assert not np.isfinite(history.history["loss"][-1])  # the epoch's loss shows it
    # the bad batch's step was not applied: the weights are those from before it
    assert all(np.isfinite(w).all() for w in model.get_weights())
    for kept, before in zip(model.get_weights(), weights_before_batch[-1], strict=True):
        np.testing.assert_array_equal(kept, before)
    assert model.optimizer.iterations == len(weights_before_batch) - 1


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_non_finite_gradient_with_a_finite_loss_also_stops_training(capsys):
    model = models.Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.layers[0].set_weights([np.zeros((2, 1)), np.zeros(1)])
    # x is finite and the loss is (0 - 1)^2 = 1, but the kernel's gradient
    # 4 * 3e38 * 2 (0 - 1) / 4 overflows float32
    x = np.array([[1.0, 3e38]] * 4, dtype=np.float32)
    model.fit(x, np.ones(4), batch_size=4, epochs=3, verbose=0)
    assert model.diverged_at == (0, 0)
    assert "the gradient of layer 'dense" in capsys.readouterr().out
    assert not np.any(model.get_weights()[0])  # the step was not applied


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_terminate_on_nan_false_trains_on_as_keras_does(capsys):
    model, x, y = _diverging(terminate_on_nan=False)
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and model.diverged_at is None
    assert capsys.readouterr().out == ""
    assert not all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("optimizer", ["lbfgs", "gd", "adam"])
def test_a_step_from_weights_whose_loss_overflows_is_not_taken(capsys, optimizer):
    model = models.Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer=optimizer, loss="mse")
    blown_up = [np.full((2, 1), 1e30, dtype=np.float32), np.zeros(1, dtype=np.float32)]
    model.set_weights(blown_up)
    x = np.full((8, 2), 1e10, dtype=np.float32)  # predictions 2e40 overflow float32
    model.fit(x, np.ones(8), epochs=2, verbose=0)
    assert model.diverged_at == (0, 0)
    assert "Epoch 1, batch 1: Invalid loss, terminating training: the loss is" in (
        capsys.readouterr().out
    )
    for kept, before in zip(model.get_weights(), blown_up, strict=True):
        np.testing.assert_array_equal(kept, before)
    assert model.optimizer.iterations == 0


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, None])
def test_the_gradient_check_finds_every_non_finite_entry_and_only_those(bad):
    """The check squares and sums each gradient (one BLAS pass); huge finite
    entries overflow that sum, and must still pass as finite."""
    from gradstep.models.model import _non_finite
    from gradstep.optimizers import WeightGradient

    huge = np.full((3, 4), 1e30, np.float32)  # its sum of squares is inf in float32
    gradient = np.zeros((5, 7), np.float32)
    if bad is not None:
        gradient[4, 6] = bad
    found = _non_finite(
        0.5,
        [
            WeightGradient("dense/kernel", huge, huge),
            WeightGradient("dense_1/kernel", gradient, gradient),
            WeightGradient("frozen/kernel", gradient, None),
        ],
    )
    if bad is None:
        assert found is None
    else:
        assert found == "the gradient of layer 'dense_1' holds NaN or infinite values"


def test_an_input_one_axis_of_size_1_off_is_adjusted_as_keras_does():
    """Keras's functional models add or drop a last axis of size 1: images
    ``(n, 28, 28)`` for ``Input((28, 28, 1))``, a vector for ``Input((1,))``,
    ``(n, 3, 1)`` for ``Input((3,))``. Other rank differences stay errors."""
    rng = np.random.default_rng(0)
    for input_shape, data_shape in [((4, 4, 1), (5, 4, 4)), ((1,), (5,)), ((3,), (5, 3, 1))]:
        model = models.Sequential(
            [
                layers.Input(shape=input_shape),
                layers.Flatten(),
                layers.Dense(1),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        x = rng.normal(size=data_shape).astype("float32")
        exact = x.reshape(len(x), *input_shape)
        np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(exact, verbose=0))
        model.fit(x, np.zeros((5, 1)), verbose=0)
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="must have 2 axes"):
        model.predict(np.zeros((5, 3, 2)), verbose=0)
