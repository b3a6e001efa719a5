import numpy as np
import pytest

from gradstep import config, layers, models


def test_set_floatx_changes_new_weights():
    try:
        config.set_floatx("float64")
        model = models.Sequential([layers.Dense(2, input_shape=(3,))])
        assert model.get_weights()[0].dtype == np.float64
    finally:
        config.set_floatx("float32")


def test_bad_floatx():
    with pytest.raises(ValueError, match="dtype must be 'float16', 'float32' or 'float64'"):
        config.set_floatx("int8")


def test_blas_threads_setting():
    try:
        config.set_blas_threads(2)
        assert config.blas_threads() == 2
        with config.limit_blas_threads():
            pass
        config.set_blas_threads(None)
        with config.limit_blas_threads():
            pass
    finally:
        config.set_blas_threads(1)
    with pytest.raises(ValueError, match="blas threads must be a positive integer or None"):
        config.set_blas_threads(0)


def test_training_limits_blas_to_one_thread():
    threadpoolctl = pytest.importorskip(
        "threadpoolctl", reason="threadpoolctl is in the main extra"
    )
    seen = []

    class Probe:
        def __call__(self):
            seen.extend(
                info["num_threads"]
                for info in threadpoolctl.threadpool_info()
                if info["user_api"] == "blas"
            )

    from gradstep import callbacks

    class Recorder(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            Probe()()

    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0, callbacks=[Recorder()])
    assert seen and set(seen) == {1}
