"""fit's step for a chain of Dense layers, decided once (the reference model's).

``ChainPlan`` (models/step_plan.py) calls each layer's own ``forward`` and
``backward``. For Dense layers, much of what those calls do at every step is
decide again what they decided at the last: which fused kernel runs and
whether it fits the arrays, how the loss is taken, new arrays for every
result. ``DenseChain`` decides that at its first step and then makes only the
calls, with ``a_0`` the batch and ``n`` layers::

    forward, layer i < n:   pre_i = a_{i-1} @ kernel_i;  pre_i += bias_i;  a_i = max(pre_i, 0)
    forward, layer n:       pre_n = a_{n-1} @ kernel_n;  pre_n += bias_n;  p = softmax(pre_n)
    loss:                   sparse categorical cross-entropy of p; its slope dz_n at pre_n
    backward, layer n:      d bias_n = sum of dz_n's rows;  d kernel_n = a_{n-1}^T dz_n
    backward, layer i < n:  g_i = dz_{i+1} kernel_{i+1}^T;  dz_i = g_i * (pre_i > 0);
                            d bias_i = sum of dz_i's rows;  d kernel_i = a_{i-1}^T dz_i

These are the layers' own calls (``Dense.forward``, ``Dense.backward``, the
fused loss of ``SparseCategoricalCrossentropy``), with the same kernels
(``kernels.dense``, ``kernels.softmax``), the same products
(``gradstep.products``, planned alike) and in the same order, so the numbers
are the same bits (tests/models/test_dense_chain.py trains with and without
it). What it writes (pre-activations, activations, slopes, gradients) is made
once for each batch size and written again at every step; the probabilities,
which the metrics receive, are new at every step.

It serves a chain of gradstep's ``Dense`` layers (not a subclass, and no
method replaced on the instance, as ``callbacks.Diagnostics`` does), each
with a bias and both weights trained, ReLU on every layer but the last and
softmax on the last, whose slope comes with its loss: Keras's
``SparseCategoricalCrossentropy`` with its defaults; and an optimizer that
evaluates the closure once (L-BFGS keeps earlier gradients). A step it cannot
take goes to the ``ChainPlan``: numba not in use or a kernel not ready yet
(the layers then run the NumPy twins and ask for the kernels), sample
weights, a batch whose dtype is not the weights', labels that are not one per
row, weights replaced by arrays of another kind, a layer's method replaced on
its instance during the fit.
"""

from __future__ import annotations

import math

import numpy as np

from gradstep import activations, config, kernels, products
from gradstep.kernels import dense as dense_kernels
from gradstep.kernels import softmax as softmax_kernels
from gradstep.layers.core import Dense
from gradstep.losses import EPSILON, SparseCategoricalCrossentropy
from gradstep.models.step_plan import ChainPlan
from gradstep.optimizers import KeptGradients, Optimizer, WeightGradient

_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: The Dense layer's methods a step would otherwise call.
_METHODS = frozenset({"forward", "backward", "backward_from_pre_activation"})
_LAST_KERNELS = ("softmax_shift", "softmax_normalize", "sparse_crossentropy")
_HIDDEN_KERNELS = ("dense_bias_relu", "dense_relu_slopes")


class DenseChain:
    """The planned step of a chain of Dense layers (see the module's description)."""

    def __init__(self, plan: ChainPlan, layers: list[Dense], positions: list, dtype):
        self._plan = plan
        self._layers = layers
        # per layer: where its kernel's and its bias's slopes go among the gradients
        self._positions = positions
        self._dtype = dtype
        self._arrays: dict[int, _Arrays] = {}  # by batch size
        self._bind = False  # whether this step's products may go through bound ones
        self._kernels: dict | None = None  # by name, once every one is ready

    @classmethod
    def build(cls, plan: ChainPlan | None, optimizer) -> DenseChain | None:
        """The planned step for ``plan``'s chain trained by ``optimizer``, or
        None when the chain is not one it serves."""
        if plan is None or type(optimizer).step is not Optimizer.step:
            return None
        planned = plan.planned
        layers = [entry.layer for entry in planned]
        if not _plain_loss(plan.compiled_loss, len(layers) - 1):
            return None
        first = layers[0] if layers else None
        dtype = first.kernel.dtype if type(first) is Dense and first.built else None
        if dtype not in _FLOAT_TYPES:
            return None
        for index, layer in enumerate(layers):
            last = index == len(layers) - 1
            if not _plain_dense(layer, dtype, softmax=last):
                return None
        positions = []
        for entry in planned:
            slots = dict(entry.slots)
            if set(slots) != {"kernel", "bias"}:
                return None
            positions.append((slots["kernel"], slots["bias"]))
        return cls(plan, layers, positions, dtype)

    def loss_and_gradients(self, inputs, targets, sample_weights):
        """What ``ChainPlan.loss_and_gradients`` returns: ``(loss, gradients,
        outputs, each output's loss, state updates, masks)``."""
        x = inputs[0]
        labels = _labels(targets[0]) if self._ready() else None
        arrays = None if labels is None else self._arrays_for(x, labels, sample_weights[0])
        if arrays is None:
            return self._plan.loss_and_gradients(inputs, targets, sample_weights)
        # (the bound products assume one BLAS thread and the batch's layout)
        self._bind = config.blas_threads_in_effect() == 1 and x.strides == arrays.batch_strides
        last = len(self._layers) - 1
        value = x
        for index in range(last):
            value = self.hidden_forward(index, value, arrays)
        probabilities = self.last_forward(value, arrays)
        loss = self.loss(probabilities, labels, arrays)
        self.last_backward(value, arrays)
        for index in range(last - 1, -1, -1):
            self.hidden_backward(index, arrays.out[index - 1] if index else x, arrays)
        # (the same list at every step, as its arrays are: optimizers.KeptGradients)
        return loss + 0.0, arrays.gradients, [probabilities], [loss], [], None

    def _arrays_for(self, x, labels, sample_weight):
        """This batch size's arrays, or None when the step goes to the plan."""
        rows = x.shape[0]
        if (
            sample_weight is not None
            or type(x) is not np.ndarray
            or x.ndim != 2
            or x.dtype != self._dtype
            or labels.shape != (rows,)
        ):
            return None
        arrays = self._arrays.get(rows)
        if arrays is not None and arrays.made_for(self._layers):
            return arrays
        for layer in self._layers:
            kernel, bias = layer.kernel, layer.bias
            if not (
                type(kernel) is np.ndarray
                and kernel.dtype == self._dtype
                and dense_kernels.bias_fits(bias, kernel)
                and _METHODS.isdisjoint(layer.__dict__)  # (a method wrapped since the first step)
            ):
                return None
        arrays = self._arrays[rows] = _Arrays(self._layers, self._positions, self._plan, rows)
        return arrays

    def _ready(self) -> bool:
        """Whether every kernel can run now (asked until they all can)."""
        if not kernels.use_numba():
            return False
        if self._kernels is None:
            example = (np.empty((1, 1), self._dtype),)  # (looked up by the first argument's dtype)
            names = _LAST_KERNELS + (_HIDDEN_KERNELS if len(self._layers) > 1 else ())
            found = {name: kernels.available(name, example) for name in names}
            if any(kernel is None for kernel in found.values()):
                return False
            self._kernels = found
        return True

    # One method per layer and pass (benchmarks/bench_reference.py --profile times each).
    def hidden_forward(self, index: int, x, arrays: _Arrays) -> np.ndarray:
        """Layer ``index`` (not the last) on its input ``x``: its activation."""
        layer, pre, out = self._layers[index], arrays.pre[index], arrays.out[index]
        self._multiply(arrays, ("forward", index), x, layer.kernel, pre)
        self._kernels["dense_bias_relu"](pre, layer.bias, out)
        return out

    def last_forward(self, x, arrays: _Arrays) -> np.ndarray:
        """The last layer on its input ``x``: the probabilities (a new array)."""
        layer, pre = self._layers[-1], arrays.pre[-1]
        self._multiply(arrays, ("forward", len(self._layers) - 1), x, layer.kernel, pre)
        probabilities = np.empty_like(pre)
        self._kernels["softmax_shift"](pre, layer.bias, probabilities, True)
        np.exp(probabilities, out=probabilities)
        self._kernels["softmax_normalize"](probabilities, arrays.zero)
        return probabilities

    def loss(self, probabilities, labels, arrays: _Arrays) -> float:
        """The loss's value; its slope at the last pre-activation goes to ``arrays``."""
        per_sample = arrays.per_sample
        self._kernels["sparse_crossentropy"](
            probabilities, labels, per_sample, arrays.slopes[-1], *arrays.loss_scalars
        )
        np.log(per_sample, out=per_sample)
        np.negative(per_sample, out=per_sample)
        return float(np.add.reduce(per_sample) / float(per_sample.size))

    def last_backward(self, x, arrays: _Arrays) -> None:
        """The last layer's weights' slopes and (with more than one layer) the
        slope at its input ``x``."""
        index = len(self._layers) - 1
        slope = arrays.slopes[index]
        np.add.reduce(slope, axis=0, out=arrays.bias_slopes[index])
        self._linear_backward(index, x, slope, arrays)

    def hidden_backward(self, index: int, x, arrays: _Arrays) -> None:
        """Layer ``index``'s (not the last) weights' slopes and (but for the
        first layer) the slope at its input ``x``."""
        slope, bias_slope = arrays.slopes[index], arrays.bias_slopes[index]
        relu_slopes = self._kernels["dense_relu_slopes"]
        relu_slopes(arrays.input_slopes[index], arrays.pre[index], slope, bias_slope)
        self._linear_backward(index, x, slope, arrays)

    def _linear_backward(self, index: int, x, slope, arrays: _Arrays) -> None:
        self._multiply(arrays, ("kernel slope", index), x.T, slope, arrays.kernel_slopes[index])
        if index > 0:
            kernel_t, input_slope = self._layers[index].kernel.T, arrays.input_slopes[index - 1]
            self._multiply(arrays, ("input slope", index), slope, kernel_t, input_slope)

    def _multiply(self, arrays: _Arrays, name: tuple, left, right, out) -> None:
        """``products.matmul(left, right, out)``: through the product bound
        under ``name`` once its plan is decided (``products.bind``), when this
        step may use it (one BLAS thread, the batch laid out as when bound)."""
        bound = arrays.bound.get(name) if self._bind else None
        if bound is not None:
            bound(left)
            return
        products.matmul(left, right, out)
        if self._bind:
            arrays.bound[name] = products.bind(left, right, out)  # (None while tried)


class _Gradients(KeptGradients):
    """The step's gradients (``WeightGradient`` triples), the same at every
    step (``optimizers.KeptGradients``), with ``whole``: the one array whose
    views they are, and zeros besides (see ``kernels.finite.first_non_finite``)."""

    def __init__(self, gradients, whole: np.ndarray):
        super().__init__(gradients)
        self.whole = whole


def _views_into_one(shapes: list[tuple], dtype) -> tuple[np.ndarray, list[np.ndarray]]:
    """One zeroed array, and arrays of ``shapes`` as views into it, each
    starting on a 64-byte boundary (the gaps stay zero)."""
    step = max(1, 64 // dtype.itemsize)
    sizes = [math.prod(shape) for shape in shapes]
    starts = [0]
    for size in sizes:
        starts.append(starts[-1] + -(-size // step) * step)
    whole = np.zeros(starts[-1], dtype)
    views = [
        whole[start : start + size].reshape(shape)
        for start, size, shape in zip(starts[:-1], sizes, shapes, strict=True)
    ]
    return whole, views


class _Arrays:
    """What a step of one batch size writes: for each layer its pre-activation,
    its activation (not the last's: the probabilities are new at every step),
    the slope at its pre-activation and at its input, and its weights' slopes
    (in the gradients handed to the optimizer); the loss's per-sample values
    and scalars; and the products bound to these arrays and to the layers'
    kernels (``products.bind``), by name, for batches of C order."""

    def __init__(self, layers: list[Dense], positions: list, plan: ChainPlan, rows: int):
        dtype = layers[0].kernel.dtype
        self.kernels = [layer.kernel for layer in layers]
        self.biases = [layer.bias for layer in layers]
        self.batch_strides = (layers[0].kernel.shape[0] * dtype.itemsize, dtype.itemsize)
        self.bound: dict[tuple, object] = {}
        self.pre = [np.empty((rows, layer.units), dtype) for layer in layers]
        self.out = [np.empty((rows, layer.units), dtype) for layer in layers[:-1]]
        self.slopes = [np.empty((rows, layer.units), dtype) for layer in layers]
        # the slope at layer i + 1's input, i.e. at layer i's activation
        self.input_slopes = [np.empty((rows, layer.units), dtype) for layer in layers[:-1]]
        # the weights' slopes, as views into one array (checked for NaN in one pass)
        shapes = [shape for layer in layers for shape in (layer.kernel.shape, (layer.units,))]
        whole, slopes = _views_into_one(shapes, dtype)
        self.kernel_slopes, self.bias_slopes = slopes[0::2], slopes[1::2]
        self.per_sample = np.empty(rows, dtype)
        self.zero = dtype.type(0)
        self.loss_scalars = softmax_kernels.crossentropy_scalars(dtype, EPSILON, rows)
        found = [None] * len(plan.named_weights)
        for (kernel_at, bias_at), kernel_slope, bias_slope in zip(
            positions, self.kernel_slopes, self.bias_slopes, strict=True
        ):
            found[kernel_at], found[bias_at] = kernel_slope, bias_slope
        self.gradients = _Gradients(
            [
                WeightGradient(path, weight, gradient)
                for (path, weight), gradient in zip(plan.named_weights, found, strict=True)
            ],
            whole,
        )

    def made_for(self, layers: list[Dense]) -> bool:
        """Whether the layers still hold the kernels and biases these were
        made for (checked then, and read by the bound products), their
        methods not replaced on the instance since."""
        return all(
            layer.kernel is kernel and layer.bias is bias and _METHODS.isdisjoint(layer.__dict__)
            for layer, kernel, bias in zip(layers, self.kernels, self.biases, strict=True)
        )


def _plain_loss(compiled_loss, last: int) -> bool:
    """One loss, Keras's SparseCategoricalCrossentropy with its defaults,
    fused with the last layer's softmax."""
    entries = compiled_loss.entries
    if len(entries) != 1 or entries[0].fused_step != last:
        return False
    loss = entries[0].loss
    return (
        type(loss) is SparseCategoricalCrossentropy
        and not loss.from_logits
        and loss.ignore_class is None
        and loss.reduction == "sum_over_batch_size"
    )


def _plain_dense(layer, dtype, softmax: bool) -> bool:
    """gradstep's own Dense, its methods not replaced on the instance, built
    with a bias, weights of ``dtype``, and ReLU (softmax over its units for
    the last layer)."""
    if type(layer) is not Dense or not _METHODS.isdisjoint(layer.__dict__):
        return False
    if not layer.built or layer.bias is None or layer.kernel.dtype != dtype:
        return False
    activation = layer.activation
    if softmax:
        return (
            type(activation) is activations.Softmax
            and activation.axis == -1
            and 0 < layer.units <= softmax_kernels.MAX_CLASSES
        )
    return type(activation) is activations.ReLU


def _labels(labels):
    """The labels as the fused loss reads them: one int64 per row, C-contiguous,
    aligned and writeable; None when they are not a vector (or a column)."""
    if type(labels) is not np.ndarray:
        return None
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        return None
    return softmax_kernels.kernel_labels(labels)
