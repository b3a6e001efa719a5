"""Data given batch by batch (generators, iterators, utils.PyDataset, torch
DataLoaders) trains, evaluates and predicts exactly as the same batches given
as arrays, with Keras's rules for steps, running out, shuffling and errors."""

import io
import itertools
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from gradstep import callbacks, layers, models, utils
from gradstep.models import adapters

BATCH = 8

# A generator without steps_per_epoch ends each pass with Keras's warning; the
# tests that are about it catch it with pytest.warns.
pytestmark = pytest.mark.filterwarnings("ignore:Your input ran out of data")


def _data(n=36, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    weights = rng.uniform(0.5, 2.0, size=n)
    return x, y, weights


def _model(seed=0, metrics=("accuracy",)):
    model = models.Sequential(
        [
            layers.Dense(6, activation="relu", input_shape=(5,)),
            layers.Dense(2, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=list(metrics),
    )
    return model


def _batches(x, y, weights=None):
    """The batches ``fit(x, y, batch_size=BATCH, shuffle=False)`` makes."""
    for start in range(0, len(x), BATCH):
        rows = slice(start, start + BATCH)
        yield (x[rows], y[rows]) if weights is None else (x[rows], y[rows], weights[rows])


class Batches(utils.PyDataset):
    def __init__(self, x, y, weights=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.weights = x, y, weights
        self.read, self.epochs_begun, self.epochs_ended = [], 0, 0

    def __len__(self):
        return math.ceil(len(self.x) / BATCH)

    def __getitem__(self, index):
        self.read.append(index)
        rows = slice(index * BATCH, (index + 1) * BATCH)
        if self.weights is None:
            return self.x[rows], self.y[rows]
        return self.x[rows], self.y[rows], self.weights[rows]

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


def _same_weights(first, second):
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def _fit_arrays(x, y, weights=None, epochs=1, **kwargs):
    model = _model()
    history = model.fit(
        x,
        y,
        sample_weight=weights,
        batch_size=BATCH,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        **kwargs,
    )
    return model, history


# --- the same batches give the same bits ----------------------------------------------
def test_a_generator_trains_to_the_bits_of_the_same_batches_as_arrays():
    x, y, _ = _data()
    expected, expected_history = _fit_arrays(x, y)
    model = _model()
    history = model.fit(_batches(x, y), shuffle=False, verbose=0)
    _same_weights(model, expected)
    assert history.history == expected_history.history


def test_an_endless_generator_with_steps_per_epoch_trains_like_arrays_for_several_epochs():
    x, y, weights = _data()
    expected, expected_history = _fit_arrays(x, y, weights, epochs=3)
    model = _model()
    endless = itertools.cycle(list(_batches(x, y, weights)))  # an iterator, not a generator
    history = model.fit(
        endless, epochs=3, steps_per_epoch=math.ceil(len(x) / BATCH), shuffle=False, verbose=0
    )
    _same_weights(model, expected)
    assert history.history == expected_history.history


def test_a_py_dataset_trains_like_arrays_and_hears_each_epoch_once():
    x, y, weights = _data()
    expected, expected_history = _fit_arrays(x, y, weights, epochs=3)
    dataset = Batches(x, y, weights, workers=4, use_multiprocessing=True, max_queue_size=3)
    model = _model()
    history = model.fit(dataset, epochs=3, shuffle=False, verbose=0)
    _same_weights(model, expected)
    assert history.history == expected_history.history
    assert dataset.read == [0, 1, 2, 3, 4] * 3
    assert dataset.epochs_begun == dataset.epochs_ended == 3


def test_a_py_dataset_is_shuffled_batch_by_batch_as_keras_does():
    x, y, _ = _data()
    orders = []
    for _ in range(2):
        dataset = Batches(x, y)
        _model(seed=3).fit(dataset, epochs=2, verbose=0)  # shuffle=True by default
        orders.append(dataset.read)
    assert orders[0] == orders[1]  # the model's seed fixes the order
    first, second = orders[0][:5], orders[0][5:]
    assert sorted(first) == sorted(second) == [0, 1, 2, 3, 4]
    assert first != second


def test_class_weight_weighs_a_py_datasets_batches_as_it_weighs_arrays():
    x, y, _ = _data()
    class_weight = {0: 0.3, 1: 2.0}
    expected, _ = _fit_arrays(x, y, class_weight=class_weight)
    model = _model()
    model.fit(Batches(x, y), class_weight=class_weight, shuffle=False, verbose=0)
    _same_weights(model, expected)


def test_validation_data_as_a_generator_or_py_dataset_gives_the_arrays_numbers():
    x, y, _ = _data()
    x_val, y_val, _ = _data(n=20, seed=1)
    _, expected = _fit_arrays(x, y, validation_data=(x_val, y_val))
    for validation in (_batches(x_val, y_val), Batches(x_val, y_val)):
        model = _model()
        history = model.fit(
            x, y, batch_size=BATCH, shuffle=False, verbose=0, validation_data=validation
        )
        assert history.history == expected.history


def test_evaluate_and_predict_take_streams():
    x, y, weights = _data()
    model = _model()
    model.fit(x, y, epochs=2, verbose=0)
    expected = model.evaluate(x, y, sample_weight=weights, batch_size=BATCH, verbose=0)
    assert model.evaluate(_batches(x, y, weights), verbose=0) == expected
    assert model.evaluate(Batches(x, y, weights), verbose=0) == expected
    predictions = model.predict(x, batch_size=BATCH, verbose=0)
    inputs_only = ((x[s : s + BATCH],) for s in range(0, len(x), BATCH))
    np.testing.assert_array_equal(model.predict(inputs_only, verbose=0), predictions)
    np.testing.assert_array_equal(model.predict(Batches(x, y), verbose=0), predictions)


def test_steps_bound_evaluate_and_predict_on_arrays_and_streams():
    x, y, _ = _data()
    model = _model()
    first_two = model.evaluate(x[: 2 * BATCH], y[: 2 * BATCH], batch_size=BATCH, verbose=0)
    assert model.evaluate(x, y, batch_size=BATCH, steps=2, verbose=0) == first_two
    assert model.evaluate(_batches(x, y), steps=2, verbose=0) == first_two
    assert model.predict(Batches(x, y), steps=3, verbose=0).shape == (3 * BATCH, 2)


def test_dicts_of_inputs_and_outputs_come_in_batches():
    inputs = {"a": layers.Input((2,), name="a"), "b": layers.Input((3,), name="b")}
    joined = layers.Concatenate()([inputs["a"], inputs["b"]])
    outputs = {
        "score": layers.Dense(1, name="score")(joined),
        "label": layers.Dense(2, activation="softmax", name="label")(joined),
    }
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(16, 2)), "b": rng.normal(size=(16, 3))}
    y = {"score": rng.normal(size=(16, 1)), "label": rng.integers(0, 2, size=16)}

    def fitted(data, **kwargs):
        model = models.Model(inputs, outputs, seed=0)
        model.compile(
            optimizer="sgd", loss={"score": "mse", "label": "sparse_categorical_crossentropy"}
        )
        model.set_weights([np.full_like(w, 0.1) for w in model.get_weights()])
        model.fit(*data, shuffle=False, verbose=0, **kwargs)
        return model

    expected = fitted((x, y), batch_size=4)
    stream = (
        ({k: v[s : s + 4] for k, v in x.items()}, {k: v[s : s + 4] for k, v in y.items()})
        for s in range(0, 16, 4)
    )
    _same_weights(fitted((stream,)), expected)


def test_a_subclassed_model_is_built_from_the_first_batch_of_a_stream():
    class Classifier(models.Model):
        def __init__(self):
            super().__init__(seed=0)
            self.hidden = layers.Dense(6, activation="relu")
            self.head = layers.Dense(2, activation="softmax")

        def call(self, inputs):
            return self.head(self.hidden(inputs))

    x, y, _ = _data()
    expected = Classifier()
    expected.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    expected.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0)
    model = Classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(Batches(x, y), shuffle=False, verbose=0)
    _same_weights(model, expected)


# --- Keras's rules for steps and running out -------------------------------------------
def _counted(x, y, count, log):
    for index in range(count):
        log.append(index)
        yield x[index * 2 : index * 2 + 2], y[index * 2 : index * 2 + 2]


def test_steps_per_epoch_goes_on_where_the_last_epoch_stopped_and_warns_when_it_runs_out():
    x, y, _ = _data()
    log = []
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        history = _model().fit(
            _counted(x, y, 5, log), epochs=3, steps_per_epoch=2, shuffle=False, verbose=0
        )
    assert log == [0, 1, 2, 3, 4]  # epochs 1 and 2 take 2 batches each, epoch 3 the last one
    assert len(history.history["loss"]) == 3


def test_a_generator_that_runs_out_replays_the_batches_read_ahead_as_keras_does():
    x, y, _ = _data()
    seen = []
    recorder = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        _model().fit(
            _counted(x, y, 5, []), epochs=2, shuffle=False, verbose=0, callbacks=[recorder]
        )
    assert seen == [0, 1, 2, 3, 4, 0, 1]


def test_shuffle_is_ignored_for_a_generator_with_keras_warning():
    x, y, _ = _data()
    with pytest.warns(UserWarning, match="`shuffle=True` was passed, but will be ignored"):
        _model().fit(_batches(x, y), verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _model().fit(Batches(x, y), verbose=0)  # a PyDataset of known length is shuffled


def test_unknown_steps_show_as_counted_steps():
    x, y, _ = _data()
    stream = io.StringIO()
    _model().fit(
        _batches(x, y),
        shuffle=False,
        verbose=0,
        callbacks=[callbacks.ProgbarLogger(1, stream=stream, clock=lambda: 0.0)],
    )
    assert stream.getvalue().splitlines()[1].startswith("5/5 ━━━━━━━━━━━━━━━━━━━━ 0s")


# --- what is refused, and how ----------------------------------------------------------
def _arguments_refused():
    x, y, _ = _data()
    return [
        (lambda m: m.fit(_batches(x, y), y), "When providing `x` as a generator, `y`"),
        (
            lambda m: m.fit(Batches(x, y), sample_weight=np.ones(36)),
            "`x` as a PyDataset, `sample_weights` should not be passed",
        ),
        (
            lambda m: m.fit(_batches(x, y), class_weight={0: 1.0, 1: 2.0}),
            "`class_weight` is not supported for generator inputs",
        ),
        (
            lambda m: m.fit(_batches(x, y), validation_split=0.2),
            "`validation_split` is only supported for tensors or NumPy arrays",
        ),
        (lambda m: m.fit(iter([])), "must yield at least one batch"),
        (lambda m: m.fit(iter([x[:4]])), "must return a tuple, either \\(input,\\)"),
        (lambda m: m.fit(Batches(x, y), steps_per_epoch=0), "steps_per_epoch"),
        (
            lambda m: m.fit(iter([(x[:4], y[:4], None, None)])),
            "x, \\(x,\\), \\(x, y\\) or \\(x, y, sample_weight\\); received a tuple of 4",
        ),
        (
            lambda m: m.fit(iter([(x[:4], y[:4]), (x[:4, :3], y[:4])]), shuffle=False),
            "x \\(a list_iterator\\), the batch of step 1: x has samples of shape \\(3,\\)",
        ),
        (
            lambda m: m.evaluate(iter([(x[:4],)])),
            "the batch of step 0: training and evaluation need targets",
        ),
    ]


@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")
@pytest.mark.parametrize("call, message", _arguments_refused())
def test_malformed_streams_are_refused_naming_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call(_model())


def test_a_py_dataset_batch_of_the_wrong_form_is_refused():
    class Wrong(Batches):
        def __getitem__(self, index):
            return "not a batch"

    x, y, _ = _data()
    with pytest.raises(ValueError, match="PyDataset.__getitem__\\(\\) must return a tuple"):
        _model().fit(Wrong(x, y), verbose=0)


def test_a_py_dataset_without_super_init_warns_as_keras_does():
    class Bare(utils.PyDataset):
        def __init__(self):
            pass  # no super().__init__()

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return np.ones((2, 5)), np.zeros(2, dtype=np.int64)

    with pytest.warns(UserWarning, match="should call `super\\(\\).__init__"):
        _model().fit(Bare(), verbose=0)
    assert utils.Sequence is utils.PyDataset


# --- torch --------------------------------------------------------------------------------
class _Tensor:
    """Stands for a torch tensor: known by its module, converted with .numpy()."""

    __module__ = "torch"

    def __init__(self, array):
        self.array = array

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.array


class _TensorDataset:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)


class DataLoader:
    """Stands for torch.utils.data.DataLoader, known by its class's module."""

    __module__ = "torch.utils.data.dataloader"

    def __init__(self, dataset, batch_size):
        self.dataset, self.batch_size = dataset, batch_size

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        for start in range(0, len(self.dataset), self.batch_size):
            rows = slice(start, start + self.batch_size)
            yield [_Tensor(self.dataset.x[rows]), _Tensor(self.dataset.y[rows])]


def test_a_dataloader_is_known_by_its_module_and_its_tensors_become_arrays():
    x, y, _ = _data()
    expected, expected_history = _fit_arrays(x, y, epochs=2)
    loader = DataLoader(_TensorDataset(x, y), batch_size=BATCH)
    assert adapters.is_torch_dataloader(loader)
    model = _model()
    history = model.fit(loader, epochs=2, shuffle=False, verbose=0)
    _same_weights(model, expected)
    assert history.history == expected_history.history
    np.testing.assert_array_equal(
        model.predict(loader, verbose=0), model.predict(x, batch_size=BATCH, verbose=0)
    )
    with pytest.raises(ValueError, match="`class_weight` is not supported for torch DataLoader"):
        model.fit(loader, class_weight={0: 1.0, 1: 1.0})


def test_arrays_never_import_torch():
    """In a process of its own: other tests (gradstep.interop's) import torch."""
    code = (
        "import runpy, sys; helpers = runpy.run_path(sys.argv[1]); x, y, _ = helpers['_data'](); "
        "helpers['_model']().fit(x, y, verbose=0); "
        "helpers['_model']().fit(helpers['_batches'](x, y), shuffle=False, verbose=0); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, __file__], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.slow
@pytest.mark.requires("torch", extra="torch")
def test_a_real_torch_dataloader_trains_like_arrays():
    import torch
    from torch.utils.data import DataLoader as TorchDataLoader
    from torch.utils.data import TensorDataset

    x, y, _ = _data()
    expected, _ = _fit_arrays(x, y)
    loader = TorchDataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=BATCH
    )
    model = _model()
    model.fit(loader, shuffle=False, verbose=0)
    _same_weights(model, expected)
