"""Preprocessing layers that turn values into indices or counts: Discretization,
CategoryEncoding, Hashing, IntegerLookup and StringLookup.

None of them has a trainable weight, and their outputs are indices (or
encodings of indices), which are piecewise constant in the input: the slope at
their input is zero wherever it exists, so their backward returns no input
slope (None), as Embedding does for its token indices, and a model's backward
stops there.

The encodings (``output_mode``) follow Keras 3's
``numerical_utils.encode_categorical_inputs``: ``'int'`` the indices;
``'one_hot'`` one row of ``depth`` per index (a last axis of size 1 is
replaced); ``'multi_hot'``/``'count'`` one row per sample, over axis 1 (axis 0
for a rank-1 input, which is one sample), 1 where an index occurs / how often
it occurs. An index outside ``[0, depth)`` is a ValueError naming the layer
(Keras on JAX would give a row of zeros).
"""

from __future__ import annotations

import numpy as np

from gradstep import config
from gradstep.layers.base import LAYERS, Layer
from gradstep.layers.string_hash import fingerprint64, siphash24
from gradstep.validation import is_int

_ENCODINGS = ("int", "one_hot", "multi_hot", "count")


def _check_output_mode(layer: str, output_mode, allowed=_ENCODINGS) -> str:
    if output_mode not in allowed:
        raise ValueError(
            f"{layer}: output_mode must be one of {', '.join(map(repr, allowed))}. "
            f"Received: output_mode={output_mode!r}"
        )
    return output_mode


def _check_not_sparse(layer: str, sparse) -> None:
    if sparse:
        raise ValueError(
            f"{layer}: sparse=True needs sparse tensors (Keras's TensorFlow backend); "
            "gradstep's outputs are dense NumPy arrays. Received: sparse=True"
        )


def encode(indices: np.ndarray, output_mode: str, depth: int, dtype, layer: str, weights=None):
    """``indices`` (integers in ``[0, depth)``) encoded as Keras encodes them;
    ``weights`` (same shape) are summed instead of counted in ``'count'``."""
    if output_mode == "int":
        return indices.astype(dtype, copy=False)
    indices = np.asarray(indices)
    if indices.ndim == 0:
        indices = indices.reshape(1)
    if indices.size and (indices.min() < 0 or indices.max() >= depth):
        bad = indices[(indices < 0) | (indices >= depth)]
        raise ValueError(
            f"{layer}: every index must be in [0, {depth}) for output_mode={output_mode!r}, "
            f"received {bad.ravel()[0]!r} ({bad.size} values out of range)"
        )
    if output_mode == "one_hot" and indices.ndim > 1 and indices.shape[-1] == 1:
        indices = indices.reshape(indices.shape[:-1])
    one_hot = indices[..., None] == np.arange(depth)
    if output_mode == "one_hot":
        return one_hot.astype(dtype)
    axis = 1 if indices.ndim > 1 else 0
    if output_mode == "multi_hot":
        return one_hot.any(axis=axis).astype(dtype)
    if weights is not None:
        return (one_hot * np.asarray(weights)[..., None]).sum(axis=axis).astype(dtype)
    return one_hot.sum(axis=axis).astype(dtype)


def encoded_shape(input_shape, output_mode: str, depth: int) -> tuple:
    """The shape ``encode`` gives for inputs of ``input_shape``."""
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if len(shape) == 0:
        return (depth,)
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            return shape[:-1] + (depth,)
        return shape + (depth,)
    if len(shape) == 1:
        return (depth,)
    return (shape[0],) + shape[2:] + (depth,)


class _IndexLayer(Layer):
    """A layer whose output is made of indices: no weights, no input slope."""

    integer_inputs = True

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        return None, {}

    def _as_array(self, x) -> np.ndarray:
        return np.asarray(x)

    def _label(self) -> str:
        return f"{type(self).__name__} layer {self.name!r}"


# --- Discretization ------------------------------------------------------------------
@LAYERS.register("Discretization")
class Discretization(_IndexLayer):
    """Buckets numbers by boundaries: ``y = i`` for ``b[i-1] <= x < b[i]``
    (``np.digitize``), so ``len(bin_boundaries) + 1`` bins, then encoded by
    ``output_mode``. Without ``bin_boundaries``, ``adapt(data)`` finds
    ``num_bins - 1`` boundaries at the quantiles of ``data``, with Keras's
    approximate summaries (``epsilon``), to the same numbers as Keras.

    Args:
        bin_boundaries: increasing boundaries, or None (then ``num_bins``).
        num_bins: the number of bins ``adapt`` makes.
        epsilon: the error tolerance of ``adapt``'s quantiles. Defaults to 0.01.
        output_mode: ``'int'`` (int32 indices, the default), ``'one_hot'``,
            ``'multi_hot'`` or ``'count'`` (floats).
        sparse: must be False (gradstep has no sparse tensors).
    """

    integer_inputs = False

    def __init__(
        self,
        bin_boundaries=None,
        num_bins=None,
        epsilon=0.01,
        output_mode="int",
        sparse=False,
        dtype=None,
        name=None,
    ):
        super().__init__(name=name, dtype=dtype)
        label = self._label()
        _check_not_sparse(label, sparse)
        self.output_mode = _check_output_mode(label, output_mode)
        if num_bins is not None and (not is_int(num_bins) or num_bins < 0):
            raise ValueError(
                f"{label}: num_bins must be an integer >= 0. Received: num_bins={num_bins!r}"
            )
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                f"{label}: both num_bins and bin_boundaries should not be set. Received: "
                f"num_bins={num_bins} and bin_boundaries={bin_boundaries}"
            )
        if num_bins is None and bin_boundaries is None:
            raise ValueError(f"{label}: you need to set either num_bins or bin_boundaries")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in bin_boundaries]
            if any(b > a for a, b in zip(bin_boundaries[1:], bin_boundaries, strict=False)):
                raise ValueError(
                    f"{label}: bin_boundaries must be sorted in increasing order. "
                    f"Received: bin_boundaries={bin_boundaries}"
                )
        self.bin_boundaries = bin_boundaries
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon = float(epsilon)
        self.sparse = False
        self.summary = None if bin_boundaries else np.array([[], []], dtype="float32")

    def _output_dtype(self):
        return "int32" if self.output_mode == "int" else (self.dtype or config.floatx())

    def adapt(self, data, steps=None) -> None:
        """Boundaries at the quantiles of ``data`` (an array, or an iterable of
        batches; ``steps`` batches at most), as Keras computes them."""
        if self.num_bins is None:
            raise ValueError(
                f"{self._label()}: cannot adapt a Discretization layer that has been "
                "initialized with bin_boundaries, use num_bins instead"
            )
        self.summary = np.array([[], []], dtype="float32")
        if isinstance(data, np.ndarray) or not hasattr(data, "__iter__"):
            batches = [data]
        else:
            batches = data
        for index, batch in enumerate(batches):
            if steps is not None and index >= steps:
                break
            values = np.array(batch).astype("float32")
            self.summary = _merge_summaries(
                _summarize(values, self.epsilon), self.summary, self.epsilon
            )
        self.bin_boundaries = _compress_summary(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def _depth(self) -> int:
        if self.bin_boundaries is not None:
            return len(self.bin_boundaries) + 1
        return self.num_bins

    def forward(self, x, training=False):
        if self.bin_boundaries is None:
            raise ValueError(
                f"{self._label()}: you need to either pass the bin_boundaries argument at "
                "construction time or call adapt(dataset) before you can start using it"
            )
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{self._label()} needs numbers, received an array of dtype {x.dtype}")
        boundaries = np.asarray(self.bin_boundaries, dtype=np.float32)
        indices = np.digitize(x.astype(np.float32, copy=False), boundaries)
        output = encode(
            indices, self.output_mode, self._depth(), self._output_dtype(), self._label()
        )
        return output, None

    def get_config(self):
        return {
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self.dtype,
        }

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_.pop("trainable", None)
        if config_.get("bin_boundaries") is not None and config_.get("num_bins") is not None:
            # An adapted layer's config has both, as in Keras.
            boundaries = config_.pop("bin_boundaries")
            layer = cls(**config_)
            layer.bin_boundaries = [float(b) for b in boundaries]
            return layer
        return cls(**config_)


# Keras's quantile summaries (keras/src/layers/preprocessing/discretization.py),
# kept to the operation so that adapted boundaries are Keras's.
def _summarize(values, epsilon):
    values = np.sort(np.reshape(values, [-1]))
    step = max(np.size(values) / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1) :: int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def _merge_summaries(previous, following, epsilon):
    merged = np.concatenate((previous, following), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    return _compress_summary(merged, epsilon)


def _compress_summary(summary, epsilon):
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_weight_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_weight_percents, summary[0])
    cum_weights = np.interp(percents, cum_weight_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")


# --- CategoryEncoding ----------------------------------------------------------------
@LAYERS.register("CategoryEncoding")
class CategoryEncoding(_IndexLayer):
    """Integer categories in ``[0, num_tokens)`` as one-hot, multi-hot or
    count vectors of ``num_tokens`` floats (see the module's docstring).
    ``layer(x, count_weights=w)`` sums ``w`` instead of counting (``'count'``).

    Args:
        num_tokens: the number of categories.
        output_mode: ``'multi_hot'`` (default, also ``'binary'``), ``'one_hot'`` or ``'count'``.
        sparse: must be False.
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        label = self._label()
        if output_mode == "binary":
            output_mode = "multi_hot"
        self.output_mode = _check_output_mode(label, output_mode, _ENCODINGS[1:])
        _check_not_sparse(label, sparse)
        if num_tokens is None:
            raise ValueError(
                f"{label}: num_tokens must be set to use this layer. If the number of tokens "
                "is not known beforehand, use the IntegerLookup layer instead"
            )
        if not is_int(num_tokens) or num_tokens < 1:
            raise ValueError(
                f"{label}: num_tokens must be >= 1. Received: num_tokens={num_tokens!r}"
            )
        self.num_tokens = int(num_tokens)
        self.sparse = False

    def __call__(self, inputs, training=None, mask=None, count_weights=None, **kwargs):
        if count_weights is None:
            return super().__call__(inputs, training=training, mask=mask, **kwargs)
        if self.output_mode != "count":
            raise ValueError(
                f"{self._label()}: count_weights is not used when output_mode is not "
                f"'count'. Received count_weights={count_weights}"
            )
        x = np.asarray(inputs)
        self.build_once((None, *x.shape[1:]))
        weights = np.asarray(count_weights, dtype=self.dtype or config.floatx())
        return encode(
            self._indices(x), "count", self.num_tokens, weights.dtype, self._label(), weights
        )

    def _indices(self, x):
        if x.dtype.kind == "f":
            if not np.all(x == np.floor(x)):
                raise ValueError(f"{self._label()}: categories must be whole numbers")
        elif x.dtype.kind not in "biu":
            raise TypeError(f"{self._label()} needs integers, received an array of dtype {x.dtype}")
        return x.astype(np.int64, copy=False)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def forward(self, x, training=False):
        dtype = self.dtype or config.floatx()
        indices = self._indices(np.asarray(x))
        return encode(indices, self.output_mode, self.num_tokens, dtype, self._label()), None

    def get_config(self):
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
        }


# --- Hashing -------------------------------------------------------------------------
def _salt(label: str, salt):
    if salt is None:
        return None
    if isinstance(salt, list | tuple) and len(salt) == 2 and all(is_int(s) for s in salt):
        return [int(s) for s in salt]
    if is_int(salt):
        return [int(salt), int(salt)]
    raise ValueError(
        f"{label}: the salt argument can only be a tuple of size 2 integers, or a single "
        f"integer. Received: salt={salt!r}"
    )


def _as_text(values: np.ndarray) -> np.ndarray:
    """Values as TensorFlow's ``as_string`` writes them (floats truncated to
    integers first, as Keras's Hashing does), as UTF-8 bytes."""
    if values.dtype.kind == "f":
        values = values.astype(np.int64)
    if values.dtype.kind == "S":
        return values
    return np.array([str(v).encode("utf-8") for v in values.ravel()], dtype=object).reshape(
        values.shape
    )


def hash_buckets(values: np.ndarray, num_buckets: int, salt=None) -> np.ndarray:
    """``Fingerprint64(text) % num_buckets`` (or SipHash keyed by ``salt``) of
    each value's text, as TensorFlow's ``to_hash_bucket_fast``/``_strong``."""
    values = np.asarray(values)
    texts = _as_text(values) if values.dtype.kind not in "UO" else values
    flat = texts.ravel()
    distinct, where = np.unique(flat.astype(object), return_inverse=True)
    buckets = np.empty(len(distinct), dtype=np.int64)
    for index, value in enumerate(distinct):
        data = value if isinstance(value, bytes) else str(value).encode("utf-8")
        code = fingerprint64(data) if salt is None else siphash24(tuple(salt), data)
        buckets[index] = code % num_buckets
    return buckets[where].reshape(values.shape)


@LAYERS.register("Hashing")
class Hashing(_IndexLayer):
    """Each value's bin: ``FarmHash64(str(x)) % num_bins`` (SipHash-2-4 keyed by
    ``salt`` with one), TensorFlow's hash buckets, to the same bins as Keras
    3. With ``mask_value``, that value gets bin 0 and the others ``1 + hash %
    (num_bins - 1)``. Integers are hashed as their decimal text and floats are
    truncated to integers first, as Keras does; strings as UTF-8.

    Args:
        num_bins: the number of bins (the mask's included).
        mask_value: the value that maps to 0, or None.
        salt: an integer or two, for the keyed SipHash; None for FarmHash.
        output_mode: ``'int'`` (int64 bins, the default), ``'one_hot'``,
            ``'multi_hot'`` or ``'count'``.
        sparse: must be False.
    """

    string_inputs = True

    def __init__(
        self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs
    ):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else config.floatx()
        self._output_dtype = np.dtype(kwargs.pop("dtype")).name
        super().__init__(**kwargs)
        label = self._label()
        if num_bins is None or not is_int(num_bins) or num_bins <= 0:
            raise ValueError(
                f"{label}: num_bins cannot be None or non-positive values. "
                f"Received: num_bins={num_bins!r}"
            )
        if output_mode == "int" and self._output_dtype not in ("int32", "int64"):
            raise ValueError(
                f"{label}: when output_mode='int', dtype should be an integer type, 'int32' "
                f"or 'int64'. Received: dtype={self._output_dtype}"
            )
        self.output_mode = _check_output_mode(label, output_mode)
        _check_not_sparse(label, sparse)
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = _salt(label, salt)
        self.sparse = False

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def forward(self, x, training=False):
        x = np.asarray(x)
        if x.dtype.kind not in "biufUSO":
            raise TypeError(f"{self._label()} cannot hash an array of dtype {x.dtype}")
        if self.output_mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x.reshape(x.shape[:-1])
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = x == self.mask_value
        indices = hash_buckets(x, bins, self.salt)
        if mask is not None:
            indices = np.where(mask, 0, indices + 1)
        mode = self.output_mode
        if mode in ("multi_hot", "count") and indices.ndim > 2:
            raise ValueError(f"{self._label()}: output_mode={mode!r} takes inputs of rank <= 2")
        return encode(indices, mode, self.num_bins, self._output_dtype, self._label()), None

    @property
    def dtype_name(self) -> str:
        return self._output_dtype

    def get_config(self):
        return {
            **super().get_config(),
            "dtype": self._output_dtype,
            "num_bins": self.num_bins,
            "salt": self.salt,
            "mask_value": self.mask_value,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }


# --- IntegerLookup and StringLookup -------------------------------------------------
class _IndexLookup(_IndexLayer):
    """Keras's IndexLookup: a vocabulary of tokens mapped to indices.

    With ``output_mode='int'`` the indices are: 0 for ``mask_token`` (when
    set), then ``num_oov_indices`` indices for tokens out of the vocabulary,
    then the vocabulary in order. An unknown token goes to the one OOV index,
    or, with several, to ``token % num_oov_indices`` (integers, Keras's
    ``'floormod'``) or ``FarmHash64(token) % num_oov_indices`` (strings;
    SipHash with a ``salt``). In the other modes the mask token has no index
    (it encodes as zeros) and the indices are encoded (``'tf_idf'``: counts
    times ``idf_weights``). ``invert=True`` maps indices back to tokens.
    ``adapt`` builds the vocabulary from data: tokens by count, most
    frequent first, ties by token from high to low, at most ``max_tokens``
    indices in all; with ``'tf_idf'``, ``idf = log(1 + documents / (1 +
    documents holding the token))``.
    """

    _vocabulary_kind = "i"

    def __init__(
        self,
        max_tokens,
        num_oov_indices,
        mask_token,
        oov_token,
        vocabulary_dtype,
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        name=None,
        salt=None,
        **kwargs,
    ):
        kwargs.pop("vocabulary_size", None)
        kwargs.pop("has_input_vocabulary", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        label = self._label()
        if max_tokens is not None and (not is_int(max_tokens) or max_tokens <= 1):
            raise ValueError(
                f"{label}: if set, max_tokens must be greater than 1. "
                f"Received: max_tokens={max_tokens!r}"
            )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                f"{label}: if pad_to_max_tokens is True, must set max_tokens. "
                f"Received: max_tokens={max_tokens}"
            )
        if not is_int(num_oov_indices) or num_oov_indices < 0:
            raise ValueError(
                f"{label}: num_oov_indices must be an integer >= 0. "
                f"Received: num_oov_indices={num_oov_indices!r}"
            )
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(
                f"{label}: oov_method must be 'floormod' or 'farmhash'. "
                f"Received: oov_method={oov_method!r}"
            )
        if salt is not None and self._vocabulary_kind == "i" and oov_method != "farmhash":
            raise ValueError(
                f"{label}: salt can only be used when oov_method='farmhash'. "
                f"Received: oov_method={oov_method!r}"
            )
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        _check_output_mode(label, output_mode, (*_ENCODINGS, "tf_idf"))
        if invert and output_mode != "int":
            raise ValueError(
                f"{label}: output_mode must be 'int' when invert is true. "
                f"Received: output_mode={output_mode!r}"
            )
        _check_not_sparse(label, sparse)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                f"{label}: idf_weights should only be set if output_mode is 'tf_idf'. "
                f"Received: idf_weights={idf_weights} and output_mode={output_mode!r}"
            )
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError(
                f"{label}: when specifying the vocabulary argument, in TF-IDF output mode, "
                "the idf_weights argument must also be provided"
            )
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.vocabulary_dtype = vocabulary_dtype
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = _salt(label, salt)
        self.input_vocabulary = (
            None if vocabulary is None else list(np.asarray(vocabulary).tolist())
        )
        self.input_idf_weights = (
            None if idf_weights is None else np.asarray(idf_weights, dtype=np.float64).tolist()
        )
        self._tokens: list = []
        self.idf_weights = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # --- the vocabulary ---------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The number of indices: mask and OOV indices included."""
        return self._token_start_index() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The tokens by index (mask and OOV tokens first, unless excluded)."""
        special = []
        if include_special_tokens:
            special = [self.mask_token] * self._oov_start_index() + [
                self.oov_token
            ] * self.num_oov_indices
        return special + list(self._tokens)

    def _token_array(self, values) -> np.ndarray:
        array = np.asarray(values)
        if self._vocabulary_kind == "i":
            if array.dtype.kind == "f" and np.all(array == np.floor(array)):
                return array.astype(np.int64)
            if array.size and array.dtype.kind not in "biu":
                raise TypeError(
                    f"{self._label()} needs integer tokens, received an array of dtype "
                    f"{array.dtype}"
                )
            return array.astype(np.int64)
        if array.dtype.kind == "S":
            return np.char.decode(array, "utf-8").astype(object)
        if array.size and array.dtype.kind not in "UO":
            raise TypeError(
                f"{self._label()} needs string tokens, received an array of dtype {array.dtype}"
            )
        return array.astype(object)

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (and, for ``'tf_idf'``, the idf weights) directly.
        It may start with the mask and OOV tokens, in that order."""
        label = self._label()
        if isinstance(vocabulary, str):
            raise ValueError(
                f"{label}: a vocabulary file ({vocabulary!r}) is not read; pass the tokens as a "
                "list (gradstep loads no files a model's config names)"
            )
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{label}: idf_weights must be set if output_mode is 'tf_idf'")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(
                f"{label}: idf_weights should only be set if output_mode is 'tf_idf'. "
                f"Received: output_mode={self.output_mode!r} and idf_weights={idf_weights}"
            )
        tokens = list(self._token_array(vocabulary).tolist())
        if not tokens:
            raise ValueError(
                f"{label}: cannot set an empty vocabulary. Received: vocabulary={vocabulary}"
            )
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [
            self.oov_token
        ] * self.num_oov_indices
        found_special = tokens[:start] == special
        if found_special:
            tokens = tokens[start:]
        repeated = sorted({t for t in tokens if tokens.count(t) > 1}, key=str)
        if repeated:
            raise ValueError(
                f"{label}: the passed vocabulary has at least one repeated term. Please "
                f"uniquify your dataset. The repeated terms are: {repeated}"
            )
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(
                f"{label}: found reserved mask token {self.mask_token!r} at an unexpected "
                "location in vocabulary. Either remove all mask and OOV tokens, or include "
                f"them only at the start of the vocabulary in precisely this order: {special}"
            )
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError(
                f"{label}: found reserved OOV token {self.oov_token!r} at an unexpected "
                "location in vocabulary. Either remove all mask and OOV tokens, or include "
                f"them only at the start of the vocabulary in precisely this order: {special}"
            )
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(
                f"{label}: attempted to set a vocabulary larger than the maximum vocab size. "
                f"Received vocabulary size is {start + len(tokens)}; max_tokens is "
                f"{self.max_tokens}"
            )
        self._tokens = tokens
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(np.asarray(vocabulary)):
                raise ValueError(
                    f"{label}: idf_weights must be a 1-D array as long as the vocabulary "
                    f"({len(np.asarray(vocabulary))}), received shape {weights.shape}"
                )
            front = 0 if found_special else start
            back = 0
            if self.pad_to_max_tokens and self.max_tokens is not None:
                back = self.max_tokens - front - len(weights)
            padded = np.pad(
                weights, (front, back), "constant", constant_values=(np.average(weights), 0)
            )
            self.idf_weights = padded.astype(config.floatx())

    # --- adapt -------------------------------------------------------------------------
    def adapt(self, data, steps=None) -> None:
        """The vocabulary (and idf weights) from ``data``: an array or list
        (rows are documents; a rank-1 array is one token per document), or
        an iterable of batches (``steps`` of them at most)."""
        if self.input_vocabulary is not None:
            raise ValueError(
                f"Cannot adapt layer {self.name!r} after setting a static vocabulary via the "
                "vocabulary argument or set_vocabulary()"
            )
        if isinstance(data, list | tuple | np.ndarray) or not hasattr(data, "__iter__"):
            array = self._token_array(data)
            batches = [array[:, None] if array.ndim == 1 else array]
        else:
            batches = data
        counts: dict = {}
        documents: dict = {}
        total_documents = 0
        for index, batch in enumerate(batches):
            if steps is not None and index >= steps:
                break
            array = self._token_array(batch)
            if array.ndim == 0:
                array = array.reshape(1)
            if array.ndim == 1:
                array = array[None, :]
            for token in array.ravel().tolist():
                counts[token] = counts.get(token, 0) + 1
            for row in array:
                for token in set(np.ravel(row).tolist()):
                    documents[token] = documents.get(token, 0) + 1
            total_documents += len(array)
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        ordered = sorted(counts, key=lambda token: (counts[token], token), reverse=True)
        if self.max_tokens:
            ordered = ordered[: self.max_tokens - self._token_start_index()]
        self._tokens = ordered
        if self.output_mode == "tf_idf":
            document_counts = np.array([documents[t] for t in ordered], dtype=np.float64)
            idf = np.log(1 + total_documents / (1 + document_counts)).astype(config.floatx())
            padded = np.pad(idf, (self._token_start_index(), 0), constant_values=np.mean(idf))
            if self.pad_to_max_tokens and self.max_tokens is not None:
                padded = np.pad(padded, (0, self.max_tokens - padded.size))
            self.idf_weights = padded.astype(config.floatx())

    # --- the passes ---------------------------------------------------------------------
    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        shape = tuple(input_shape)
        depth = self._depth()
        if self.output_mode == "one_hot":
            if len(shape) > 1 and shape[-1] == 1:
                return shape[:-1] + (depth,)
            return shape + (depth,)
        return shape[:-1] + (depth,)

    def forward(self, x, training=False):
        if self.invert:
            return self._tokens_of(np.asarray(x)), None
        tokens = self._token_array(x)
        indices = self._indices_of(tokens)
        if self.output_mode == "int":
            return indices, None
        if not self._tokens and self.vocabulary_size() == 0:
            raise ValueError(f"{self._label()} has no vocabulary: call adapt() or set one")
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        valid = indices >= 0  # the mask token encodes as zeros
        output = (
            encode(
                np.where(valid, indices, 0),
                mode,
                self._depth(),
                config.floatx(),
                self._label(),
                weights=None,
            )
            if valid.all()
            else self._encode_masked(indices, mode)
        )
        if self.output_mode == "tf_idf":
            output = output * self.idf_weights
        return output, None

    def _encode_masked(self, indices, mode):
        """The encoding with the mask token's positions left out (zeros)."""
        depth = self._depth()
        widened = np.where(indices >= 0, indices, depth)
        output = encode(widened, mode, depth + 1, config.floatx(), self._label())
        return output[..., :depth]

    def _indices_of(self, tokens: np.ndarray) -> np.ndarray:
        table = {token: self._token_start_index() + i for i, token in enumerate(self._tokens)}
        flat = tokens.ravel().tolist()
        oov = self._oov_start_index()
        indices = np.array([table.get(t, -1) for t in flat], dtype=np.int64).reshape(tokens.shape)
        unknown = indices == -1
        if self.mask_token is not None:
            is_mask = tokens == self.mask_token
            unknown &= ~is_mask
        if unknown.any():
            if self.num_oov_indices == 0:
                raise ValueError(
                    f"{self._label()}: when num_oov_indices=0 all inputs should be in "
                    f"vocabulary, found OOV values {np.unique(tokens[unknown]).tolist()}, "
                    "consider setting num_oov_indices=1"
                )
            indices[unknown] = oov + self._oov_indices(tokens[unknown])
        if self.mask_token is not None:
            indices[is_mask] = 0 if self.output_mode == "int" else -1
        return indices

    def _oov_indices(self, tokens: np.ndarray) -> np.ndarray:
        if self.num_oov_indices == 1:
            return np.zeros(tokens.shape, dtype=np.int64)
        if self._vocabulary_kind == "i" and self.oov_method != "farmhash":
            return np.mod(tokens, self.num_oov_indices)
        return hash_buckets(tokens, self.num_oov_indices, self.salt)

    def _tokens_of(self, indices: np.ndarray) -> np.ndarray:
        if indices.dtype.kind not in "biu" and not (
            indices.dtype.kind == "f" and np.all(indices == np.floor(indices))
        ):
            raise TypeError(
                f"{self._label()} with invert=True needs integer indices, received dtype "
                f"{indices.dtype}"
            )
        vocabulary = self.get_vocabulary()
        indices = indices.astype(np.int64)
        known = (indices >= 0) & (indices < len(vocabulary))
        if self._vocabulary_kind == "i":
            table = np.array(vocabulary, dtype=np.int64)
            default = np.int64(self.oov_token)
        else:
            table = np.array(vocabulary, dtype=object)
            default = self.oov_token
        output = np.where(known, table[np.where(known, indices, 0)], default)
        if self.mask_token is not None:
            output = np.where(indices == 0, self.mask_token, output)
        return output if self._vocabulary_kind == "i" else output.astype(object)

    def get_config(self):
        vocabulary = self.input_vocabulary
        idf_weights = self.input_idf_weights
        if vocabulary is None and self._tokens:
            # An adapted vocabulary: Keras keeps it as a file beside the config;
            # gradstep's file holds no such assets, so it goes into the config.
            vocabulary = self.get_vocabulary()
            if self.idf_weights is not None:
                idf_weights = self.idf_weights[: len(vocabulary)].tolist()
        return {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary_dtype": self.vocabulary_dtype,
            "idf_weights": idf_weights,
            "vocabulary": vocabulary,
            "vocabulary_size": self.vocabulary_size() if self._tokens else None,
            "oov_method": self.oov_method,
            "salt": self.salt,
        }


@LAYERS.register("IntegerLookup")
class IntegerLookup(_IndexLookup):
    """Integer tokens to indices (see ``_IndexLookup`` for the layout), or back
    with ``invert=True``. Keras 3's arguments and defaults: ``oov_token=-1``,
    ``vocabulary_dtype='int64'`` (the only one), ``oov_method='floormod'``."""

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        name=None,
        **kwargs,
    ):
        if vocabulary_dtype != "int64":
            raise ValueError(
                f"IntegerLookup: only vocabulary_dtype='int64' is supported at this time. "
                f"Received: vocabulary_dtype={vocabulary_dtype!r}"
            )
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=None if mask_token is None else int(mask_token),
            oov_token=None if oov_token is None else int(oov_token),
            vocabulary_dtype=vocabulary_dtype,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            oov_method=oov_method,
            salt=salt,
            name=name,
            **kwargs,
        )


@LAYERS.register("StringLookup")
class StringLookup(_IndexLookup):
    """String tokens (NumPy ``str``, ``bytes`` or object arrays) to indices
    (see ``_IndexLookup``), or back with ``invert=True`` (an object array of
    ``str``). Keras 3's defaults: ``oov_token='[UNK]'``, ``encoding='utf-8'``."""

    _vocabulary_kind = "s"
    string_inputs = True

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        name=None,
        salt=None,
        **kwargs,
    ):
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary_dtype="string",
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            name=name,
            salt=salt,
            **kwargs,
        )

    def get_config(self):
        config_ = super().get_config()
        del config_["vocabulary_dtype"]
        return {**config_, "encoding": self.encoding}
