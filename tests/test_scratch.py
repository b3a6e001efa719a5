"""The pool of reused buffers hands a buffer out again only when nothing but
the pool refers to it: an array kept by the caller (itself, a view of it, a
memoryview, an array over that memoryview, a container, a layer, a callback)
is never overwritten, while a dropped one is reused."""

import gc

import numpy as np
import pytest

import gradstep
from gradstep import callbacks, layers, scratch

LARGE = (512, 256)  # 512 KiB of float32: above scratch.MIN_BYTES


def _address(array) -> int:
    return array.__array_interface__["data"][0]


def _overlaps(a, b) -> bool:
    return np.shares_memory(a, b) or np.may_share_memory(a, b)


def test_outside_reusing_every_array_is_new():
    first = scratch.empty(LARGE, np.float32)
    second = scratch.empty(LARGE, np.float32)
    assert not _overlaps(first, second)
    assert not scratch._POOL


def test_a_dropped_array_is_reused_and_the_pool_is_let_go_at_the_end():
    with scratch.reusing():
        first = scratch.empty(LARGE, np.float32)
        address = _address(first)
        del first
        assert _address(scratch.empty(LARGE, np.float32)) == address
        # and by a smaller request that fills at least half of it
        assert _address(scratch.empty((200, 256), np.float64)) == address
        with scratch.reusing():
            pass
        assert scratch._POOL  # an inner reusing keeps the pool
    assert not scratch._POOL


def test_a_small_array_is_not_pooled():
    with scratch.reusing():
        scratch.empty((10, 10), np.float32)
        assert not scratch._POOL


def _keepers():
    """Ways of keeping (part of) an array after its own name is gone."""
    return {
        "the array": lambda a: a,
        "a slice": lambda a: a[3:5],
        "a reshape": lambda a: a.reshape(-1),
        "a transpose": lambda a: a.T,
        "a dtype view": lambda a: a.view(np.int32),
        "a memoryview": lambda a: memoryview(a),
        "an array over a memoryview": lambda a: np.frombuffer(memoryview(a), np.float32),
        "a list": lambda a: [a],
        "a closure": lambda a: lambda: a,
    }


@pytest.mark.parametrize("how", list(_keepers()))
def test_an_array_kept_in_any_form_is_never_handed_out_again(how):
    keep = _keepers()[how]
    with scratch.reusing():
        array = scratch.empty(LARGE, np.float32)
        array.fill(1.5)
        kept = keep(array)
        del array
        gc.collect()
        for shape, dtype in [(LARGE, np.float32), ((200, 256), np.float64)]:
            other = scratch.empty(shape, dtype)
            other.fill(-7)
            assert (np.asarray(scratch._POOL[0]).view(np.float32)[:4] == 1.5).all()
            del other
        del kept
        gc.collect()
        # once dropped, its buffer serves again
        assert len(scratch._POOL) == 2
        reused = scratch.empty(LARGE, np.float32)
        assert any(_address(reused) == _address(buffer) for buffer in scratch._POOL)


class _Keep(layers.Layer):
    """Keeps every input it sees in training, and the copy it had then."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kept, self.copies = [], []

    def forward(self, x, training=False):
        if training:
            self.kept.append(x)
            self.copies.append(x.copy())
        return x, None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        return grad_wrt_output, {}


def test_fit_never_overwrites_an_array_a_layer_or_a_callback_keeps():
    gradstep.utils.set_random_seed(0)
    keep = _Keep()
    model = gradstep.Sequential(
        [
            gradstep.Input(shape=(12, 12, 3)),
            layers.Conv2D(16, 3, activation="relu"),
            keep,
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(4, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((256, 12, 12, 3), dtype=np.float32)
    y = rng.integers(0, 4, size=256)
    predictions, copies = [], []

    def predict_every_batch(batch, logs):
        predictions.append(model.predict(x[:128], batch_size=128, verbose=0))
        copies.append(predictions[-1].copy())

    spy = callbacks.LambdaCallback(on_train_batch_end=predict_every_batch)
    model.fit(x, y, batch_size=128, epochs=2, verbose=0, callbacks=[spy])
    assert len(keep.kept) == 4 and keep.kept[0].nbytes >= scratch.MIN_BYTES
    for kept, copy in zip(keep.kept + predictions, keep.copies + copies, strict=True):
        np.testing.assert_array_equal(kept, copy)
