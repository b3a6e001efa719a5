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


def test_image_data_format_is_the_default_data_format():
    assert config.image_data_format() == "channels_last"
    try:
        config.set_image_data_format("Channels_First")
        assert config.image_data_format() == "channels_first"
        assert layers.MaxPooling2D().data_format == "channels_first"
        assert layers.Flatten(data_format="channels_last").data_format == "channels_last"
    finally:
        config.set_image_data_format("channels_last")
    assert layers.Flatten().data_format == "channels_last"
    with pytest.raises(ValueError, match="data_format must be 'channels_last' or 'channels_first'"):
        config.set_image_data_format("NHWC")


def test_blas_threads_setting():
    assert config.blas_threads() == "auto"
    try:
        config.set_blas_threads(2)
        assert config.blas_threads() == 2
        with config.limit_blas_threads():
            pass
        config.set_blas_threads(None)
        with config.limit_blas_threads():
            pass
    finally:
        config.set_blas_threads("auto")
    with pytest.raises(ValueError, match="blas threads must be 'auto', a positive integer or None"):
        config.set_blas_threads(0)


def _blas_threads_during_fit(model, x, y):
    import threadpoolctl

    from gradstep import callbacks

    # NumPy's own BLAS, the one its matrix products use (numba, imported during the
    # first step, loads scipy's copy of OpenBLAS too, which gradstep never calls).
    numpy_blas = {
        info["filepath"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"
    }
    seen = []

    class Recorder(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.extend(
                info["num_threads"]
                for info in threadpoolctl.threadpool_info()
                if info["filepath"] in numpy_blas
            )

    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, verbose=0, callbacks=[Recorder()])
    return set(seen)


@pytest.mark.requires("threadpoolctl", extra="main")
def test_small_models_train_on_one_blas_thread():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    assert _blas_threads_during_fit(model, np.zeros((4, 3)), np.zeros((4, 2))) == {1}


@pytest.mark.requires("threadpoolctl", extra="main")
def test_large_models_keep_blas_threads():
    import threadpoolctl

    own = {
        info["num_threads"]
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    }
    model = models.Sequential([layers.Dense(1024, input_shape=(256,)), layers.Dense(1)])
    assert model.layers[0].kernel.size >= config.AUTO_THREADS_MIN_WEIGHTS
    assert _blas_threads_during_fit(model, np.zeros((4, 256)), np.zeros((4, 1))) == own


@pytest.mark.requires("threadpoolctl", extra="main")
def test_a_convolution_counts_its_kernel_once_per_position():
    """The MNIST convnet's second convolution has an 18,432-entry kernel, met
    at 121 positions of each sample: its products are large, and keep BLAS's
    threads; the same kernel on a 3x3 input (one position) does not."""
    import threadpoolctl

    own = {
        info["num_threads"]
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    }
    large = models.Sequential([layers.Input((13, 13, 32)), layers.Conv2D(64, 3)])
    assert large.product_size() == 3 * 3 * 32 * 64 * 11 * 11 >= config.AUTO_THREADS_MIN_WEIGHTS
    x = np.zeros((2, 13, 13, 32))
    assert _blas_threads_during_fit(large, x, np.zeros((2, 11, 11, 64))) == own
    small = models.Sequential([layers.Input((3, 3, 32)), layers.Conv2D(64, 3)])
    assert small.product_size() == 3 * 3 * 32 * 64
    assert _blas_threads_during_fit(small, x[:, :3, :3], np.zeros((2, 1, 1, 64))) == {1}


@pytest.mark.requires("threadpoolctl", extra="main")
def test_small_products_run_on_one_blas_thread_where_fit_allows_several():
    import threadpoolctl

    # the BLAS libraries loaded when gradstep first limits one (numba may load
    # scipy's OpenBLAS later, which gradstep never calls)
    limited = {info["filepath"] for info in config._blas_controller().info()}

    def numpy_blas_threads():
        return {
            info["num_threads"]
            for info in threadpoolctl.threadpool_info()
            if info["user_api"] == "blas" and info["filepath"] in limited
        }

    own = numpy_blas_threads()
    long_sum_into_9x32 = np.zeros((9, 86528)), np.zeros((86528, 32))
    few_multiply_adds = np.zeros((86528, 9)), np.zeros((9, 32))
    large = np.zeros((15488, 288)), np.zeros((288, 64))
    with config.product_threads(*long_sum_into_9x32):  # outside fit: no change
        assert numpy_blas_threads() == own
    config.set_blas_threads(2)
    try:
        assert config.blas_threads_in_effect() is None  # outside fit
        with config.limit_blas_threads():
            assert config.blas_threads_in_effect() == 2
            for small in (long_sum_into_9x32, few_multiply_adds):
                with config.product_threads(*small):
                    assert numpy_blas_threads() == {1}
            with config.product_threads(*large):
                assert numpy_blas_threads() == {2}
            assert numpy_blas_threads() == {2}
    finally:
        config.set_blas_threads("auto")


def _blas_threads_during_on_batch_calls(model, x, y):
    """The thread counts of NumPy's BLAS seen inside the layers' forward passes
    of ``train_on_batch``, ``test_on_batch`` and ``predict_on_batch``."""
    import threadpoolctl

    numpy_blas = {
        info["filepath"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"
    }
    seen = {}
    first = model.layers[0]
    forward = first.forward

    def recording_forward(*args, **kwargs):
        seen.setdefault(calling, set()).update(
            info["num_threads"]
            for info in threadpoolctl.threadpool_info()
            if info["filepath"] in numpy_blas
        )
        return forward(*args, **kwargs)

    first.forward = recording_forward
    model.compile(optimizer="sgd", loss="mse")
    for calling in ("train_on_batch", "test_on_batch"):
        getattr(model, calling)(x, y)
    calling = "predict_on_batch"
    model.predict_on_batch(x)
    return seen


@pytest.mark.requires("threadpoolctl", extra="main")
def test_on_batch_calls_apply_fits_thread_rule():
    """A small model's step runs on one BLAS thread in train_on_batch (and
    test/predict_on_batch) as in fit; a large one keeps BLAS's own count."""
    import threadpoolctl

    own = {
        info["num_threads"]
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    }
    small = models.Sequential([layers.Dense(2, input_shape=(3,))])
    seen = _blas_threads_during_on_batch_calls(small, np.zeros((4, 3)), np.zeros((4, 2)))
    assert seen == {name: {1} for name in ("train_on_batch", "test_on_batch", "predict_on_batch")}
    large = models.Sequential([layers.Dense(1024, input_shape=(256,)), layers.Dense(1)])
    seen = _blas_threads_during_on_batch_calls(large, np.zeros((4, 256)), np.zeros((4, 1)))
    assert seen == {name: own for name in ("train_on_batch", "test_on_batch", "predict_on_batch")}


@pytest.mark.requires("threadpoolctl", extra="main")
def test_fits_in_several_threads_leave_blas_as_they_found_it():
    """Two threads training at once, each entering and leaving the BLAS limit
    many times in overlapping order: afterwards BLAS has its own thread count
    again and no thread reports a limit in force; the weights are those of
    the same fits run one after the other."""
    import threading

    import threadpoolctl

    def numpy_blas_threads():
        return {
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        }

    own = numpy_blas_threads()

    def train(seed, results, start=None):
        rng = np.random.default_rng(seed)
        model = models.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dense(2)])
        model.set_weights([rng.normal(size=w.shape) for w in model.get_weights()])
        model.compile(optimizer="sgd", loss="mse")
        if start is not None:
            start.wait()
        for _ in range(20):
            x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
            model.fit(x, y, batch_size=2, shuffle=False, verbose=0)
        results[seed] = model.get_weights()

    together, apart = {}, {}
    start = threading.Barrier(2)
    threads = [threading.Thread(target=train, args=(s, together, start)) for s in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in (1, 2):
        train(seed, apart)
    assert numpy_blas_threads() == own
    assert config.blas_threads_in_effect() is None
    for seed in (1, 2):
        for ours, theirs in zip(together[seed], apart[seed], strict=True):
            np.testing.assert_array_equal(ours, theirs)
