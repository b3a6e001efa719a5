"""A gradstep optimizer and its state as PyTorch's (imported by ``to_torch_optimizer``).

Each gradstep slot becomes the ``torch.optim`` state entry of the same
meaning, in the parameter's PyTorch layout (the link's ``to_torch``, the
conversion its weight went through)::

    SGD       momentum_buffer (PyTorch's form; Keras's velocity / -learning_rate)
    Adam(W)   exp_avg = momentum, exp_avg_sq = velocity, max_exp_avg_sq = velocity_hat
    RMSprop   square_avg = velocity, grad_avg = average_gradient, momentum_buffer
    Adagrad   sum = accumulator
    Adamax    exp_avg = momentum, exp_inf = norm
    NAdam     exp_avg = momentum, exp_avg_sq = velocity, mu_product = u_product
    Adadelta  square_avg = accumulated_grad, acc_delta = accumulated_delta_var
    Adafactor row_var / col_var = row_mean / column_mean (swapped where the
              layout is transposed), variance = velocity (0 or 1 dimension)
    LBFGS     d, t, old_dirs, old_stps, ro, H_diag, prev_flat_grad, prev_loss,
              n_iter, func_evals (flat vectors in the parameters' layouts and order)

and ``step`` is the number of updates made (``optimizer.iterations``).
Differences PyTorch's optimizer cannot follow are announced by a
``TorchConversionWarning`` naming each; an optimizer PyTorch does not have,
or has with another rule, is refused (``ValueError``) with the reason.
PyTorch's ASGD, RAdam, Rprop and SparseAdam have no gradstep counterpart, so
no gradstep optimizer becomes one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from gradstep.interop.differences import TorchConversionWarning

#: Optimizers PyTorch has not, or has with another rule, and why.
_REFUSED = {
    "Lion": "PyTorch has no Lion optimizer",
    "Lamb": "PyTorch has no LAMB optimizer",
    "Ftrl": "PyTorch has no FTRL optimizer",
    "ScheduleFreeAdamW": "PyTorch has no schedule-free AdamW",
    "Muon": "PyTorch's Muon orthogonalizes the momentum in bfloat16 (gradstep in the weights' "
    "own float dtype, so the steps differ in the third digit) and takes only matrices, where "
    "gradstep's Muon steps the other weights with AdamW",
}


def convert_optimizer(model, module):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            f"to_torch_optimizer: model {model.name!r} has no optimizer; compile it first"
        )
    kind = type(optimizer).__name__
    if kind in _REFUSED:
        raise ValueError(f"to_torch_optimizer: {kind} cannot be converted: {_REFUSED[kind]}")
    if kind not in _RULES and kind != "LBFGS":
        raise ValueError(
            f"to_torch_optimizer: {kind} cannot be converted: PyTorch has no optimizer "
            "known to follow its rule"
        )
    links = list(module.gradstep_links)
    _check_links(model, links)
    if kind == "LBFGS":
        return _lbfgs(model, optimizer, links)
    config = optimizer.get_config()
    notes = _general_notes(model, optimizer, config)
    learning_rate = float(optimizer.learning_rate)
    rule = _RULES[kind](optimizer, config, learning_rate, notes)
    if kind == "Adafactor":
        _check_adafactor_layouts(links)
    groups = _parameter_groups(optimizer, links, rule)
    converted = rule.torch_class(groups, **rule.arguments)
    if optimizer.built and optimizer.iterations > 0:
        state = optimizer.get_state()
        for link in links:
            converted.state[link.parameter] = rule.state(optimizer, link, state)
    for note in notes:
        warnings.warn(f"to_torch_optimizer: {note}", TorchConversionWarning, stacklevel=3)
    return converted


def _check_links(model, links) -> None:
    trained = {id(array) for array in model.trainable_weights}
    linked = {id(link.array) for link in links}
    if linked != trained:
        raise ValueError(
            "to_torch_optimizer: the module's parameters are not this model's trained weights; "
            "pass the module that to_torch(model) returned"
        )


def _general_notes(model, optimizer, config) -> list[str]:
    notes = []
    if isinstance(config["learning_rate"], dict) or callable(config["learning_rate"]):
        notes.append(
            "the learning-rate schedule is not carried: PyTorch gets this step's rate "
            f"({float(optimizer.learning_rate):.6g}); attach a torch.optim.lr_scheduler"
        )
    if optimizer.cycles_momentum:
        notes.append("the cycled momentum of the schedule is not carried")
    for option in ("clipnorm", "clipvalue", "global_clipnorm"):
        if config[option] is not None:
            notes.append(
                f"{option}={config[option]} is not carried: PyTorch clips outside the "
                "optimizer (torch.nn.utils.clip_grad_norm_ / clip_grad_value_ before step())"
            )
    if config["use_ema"]:
        notes.append("the moving average of the weights (use_ema) is not carried")
    if config["gradient_accumulation_steps"]:
        notes.append(
            "gradient accumulation is not carried: PyTorch accumulates by calling "
            "backward() several times before step()"
        )
    return notes + _penalty_notes(model)


def _penalty_notes(model) -> list[str]:
    notes = []
    penalized = [
        layer.name
        for layer in model.layers
        if any(
            value is not None
            for key, value in vars(layer).items()
            if key.endswith(("_regularizer", "_constraint"))
        )
    ]
    if penalized:
        notes.append(
            f"the weight penalties and constraints of layers {penalized} are part of gradstep's "
            "loss and step, not of its optimizer: add the penalties to the PyTorch loss and "
            "apply the constraints after step()"
        )
    return notes


class _Rule:
    """PyTorch's optimizer class, its arguments, and the state of one parameter."""

    def __init__(self, torch_class, arguments, slots, decay_in_group=True):
        self.torch_class = torch_class
        self.arguments = arguments
        #: (PyTorch's state name, gradstep's slot name, factor)
        self.slots = slots
        self.decay_in_group = decay_in_group

    def state(self, optimizer, link, state):
        index = _index(optimizer, link)
        entries = {"step": torch.tensor(float(optimizer.iterations))}
        for torch_name, slot, factor in self.slots:
            array = state.get(f"{slot}/{index}")
            if array is None:
                continue
            converted = np.ascontiguousarray(
                link.to_torch(array * factor if factor != 1 else array)
            )
            entries[torch_name] = torch.from_numpy(converted.astype(array.dtype, copy=True)).to(
                link.parameter.device
            )
        for name, value in self.optimizer_wide(state).items():
            entries[name] = value
        return entries

    def optimizer_wide(self, state) -> dict:
        return {}


def _index(optimizer, link) -> int | None:
    """The parameter's index in the optimizer's state (``"<slot>/<index>"``)."""
    for slot, arrays in optimizer.variables.items():
        for index, array in enumerate(arrays):
            if array is not None and array is optimizer.slot(slot, link.array):
                return index
    return None  # an optimizer without slots (SGD without momentum)


def _parameter_groups(optimizer, links, rule):
    decay = rule.arguments.get("weight_decay", 0.0)
    if not decay or not optimizer.built:
        return [{"params": [link.parameter for link in links]}]
    decayed = [link.parameter for link in links if optimizer.decays(link.array)]
    kept = [link.parameter for link in links if not optimizer.decays(link.array)]
    return [g for g in ({"params": decayed}, {"params": kept, "weight_decay": 0.0}) if g["params"]]


def _placement(optimizer, notes, what):
    if getattr(optimizer, "epsilon_placement", "pytorch") != "pytorch":
        notes.append(
            f"epsilon_placement='keras' {what}, PyTorch's after: the steps differ where the "
            "gradients are small (create the gradstep optimizer with epsilon_placement='pytorch' "
            "to continue a run exactly)"
        )


def _momentum_form(optimizer, notes):
    if getattr(optimizer, "momentum_form", "pytorch") != "pytorch" and optimizer.momentum:
        notes.append(
            "momentum_form='keras' keeps the learning rate inside the velocity; PyTorch's "
            "buffer is the velocity divided by the rate, which agrees while the rate stays "
            "constant (create the gradstep optimizer with momentum_form='pytorch' to continue "
            "a run exactly)"
        )


def _coupled_decay(optimizer, notes, name):
    plain_sgd = name == "SGD" and not optimizer.momentum  # then the two steps are one
    if optimizer.weight_decay and not plain_sgd:
        notes.append(
            f"weight_decay={optimizer.weight_decay} is decoupled in gradstep (w -= lr * wd * w), "
            f"and PyTorch's {name} only adds wd * w to the gradient: it is passed as that, "
            "which is not the same step"
        )


def _sgd(optimizer, config, learning_rate, notes):
    _momentum_form(optimizer, notes)
    _coupled_decay(optimizer, notes, "SGD")
    keras_form = optimizer.momentum_form != "pytorch"
    slot = "momentum" if keras_form else "momentum_buffer"
    factor = -1.0 / learning_rate if keras_form else 1.0
    arguments = {
        "lr": learning_rate,
        "momentum": optimizer.momentum,
        "nesterov": bool(optimizer.nesterov),
        "weight_decay": optimizer.weight_decay or 0.0,
    }
    rule = _Rule(torch.optim.SGD, arguments, [("momentum_buffer", slot, factor)])
    rule.state = _without_step(rule.state)
    return rule


def _without_step(state):
    def wrapped(optimizer, link, saved):
        entries = state(optimizer, link, saved)
        entries.pop("step", None)
        return entries

    return wrapped


def _adam(optimizer, config, learning_rate, notes):
    _placement(optimizer, notes, "adds epsilon before the bias correction")
    decay = optimizer.weight_decay or 0.0
    arguments = {
        "lr": learning_rate,
        "betas": (optimizer.beta_1, optimizer.beta_2),
        "eps": optimizer.epsilon,
        "amsgrad": bool(optimizer.amsgrad),
        "weight_decay": decay,
    }
    slots = [
        ("exp_avg", "momentum", 1.0),
        ("exp_avg_sq", "velocity", 1.0),
        ("max_exp_avg_sq", "velocity_hat", 1.0),
    ]
    # gradstep's weight decay is decoupled, as AdamW's.
    return _Rule(torch.optim.AdamW if decay else torch.optim.Adam, arguments, slots)


def _rmsprop(optimizer, config, learning_rate, notes):
    _placement(optimizer, notes, "adds epsilon inside the square root")
    _momentum_form(optimizer, notes)
    _coupled_decay(optimizer, notes, "RMSprop")
    keras_form = optimizer.momentum_form != "pytorch"
    arguments = {
        "lr": learning_rate,
        "alpha": optimizer.rho,
        "eps": optimizer.epsilon,
        "momentum": optimizer.momentum,
        "centered": bool(optimizer.centered),
        "weight_decay": optimizer.weight_decay or 0.0,
    }
    slots = [
        ("square_avg", "velocity", 1.0),
        ("grad_avg", "average_gradient", 1.0),
        (
            "momentum_buffer",
            "momentum" if keras_form else "momentum_buffer",
            1.0 / learning_rate if keras_form else 1.0,
        ),
    ]
    return _Rule(torch.optim.RMSprop, arguments, slots)


def _adagrad(optimizer, config, learning_rate, notes):
    _placement(optimizer, notes, "adds epsilon inside the square root")
    _coupled_decay(optimizer, notes, "Adagrad")
    arguments = {
        "lr": learning_rate,
        "initial_accumulator_value": optimizer.initial_accumulator_value,
        "eps": optimizer.epsilon,
        "weight_decay": optimizer.weight_decay or 0.0,
    }
    return _Rule(torch.optim.Adagrad, arguments, [("sum", "accumulator", 1.0)])


def _adamax(optimizer, config, learning_rate, notes):
    _placement(optimizer, notes, "adds epsilon to the norm in the step")
    _coupled_decay(optimizer, notes, "Adamax")
    arguments = {
        "lr": learning_rate,
        "betas": (optimizer.beta_1, optimizer.beta_2),
        "eps": optimizer.epsilon,
        "weight_decay": optimizer.weight_decay or 0.0,
    }
    slots = [("exp_avg", "momentum", 1.0), ("exp_inf", "norm", 1.0)]
    return _Rule(torch.optim.Adamax, arguments, slots)


class _NadamRule(_Rule):
    def optimizer_wide(self, state):
        product = state.get("u_product")
        return {} if product is None else {"mu_product": torch.tensor(float(product))}


def _nadam(optimizer, config, learning_rate, notes):
    decay = optimizer.weight_decay or 0.0
    arguments = {
        "lr": learning_rate,
        "betas": (optimizer.beta_1, optimizer.beta_2),
        "eps": optimizer.epsilon,
        # Keras's momentum schedule is 0.96^t: PyTorch's 0.96^(t * momentum_decay)
        "momentum_decay": 1.0,
        "weight_decay": decay,
        "decoupled_weight_decay": bool(decay),
    }
    slots = [("exp_avg", "momentum", 1.0), ("exp_avg_sq", "velocity", 1.0)]
    return _NadamRule(torch.optim.NAdam, arguments, slots)


def _adadelta(optimizer, config, learning_rate, notes):
    _coupled_decay(optimizer, notes, "Adadelta")
    arguments = {
        "lr": learning_rate,
        "rho": optimizer.rho,
        "eps": optimizer.epsilon,
        "weight_decay": optimizer.weight_decay or 0.0,
    }
    slots = [("square_avg", "accumulated_grad", 1.0), ("acc_delta", "accumulated_delta_var", 1.0)]
    return _Rule(torch.optim.Adadelta, arguments, slots)


class _AdafactorRule(_Rule):
    """Adafactor's state: ``row_var`` and ``col_var`` (PyTorch keeps the reduced
    axis, of size 1) for a parameter of 2 or more dimensions, ``variance`` for
    the others. A layout that PyTorch transposes or whose rows it permutes
    (Dense, the recurrent kernels) swaps or permutes the two factors: each is
    broadcast over the weight, converted, and read back along the axis over
    which it is constant. A layout that moves other axes (a convolution
    kernel) or splits a weight (a GRU's two biases) would factor over other
    axes, and is refused (``_check_adafactor_layouts``)."""

    def state(self, optimizer, link, state):
        entries = {"step": torch.tensor(float(optimizer.iterations))}
        array = link.array
        if array.ndim < 2:
            entries["variance"] = _torch_tensor(link, optimizer.slot("velocity", array))
            return entries
        for factor in (
            optimizer.slot("row_mean", array)[..., :, None],
            optimizer.slot("column_mean", array)[..., None, :],
        ):
            converted = np.asarray(link.to_torch(np.broadcast_to(factor, array.shape)))
            axis = _constant_axis(converted, array.ndim)
            name = "row_var" if axis == -1 else "col_var"
            entries[name] = _torch_tensor(link, np.take(converted, [0], axis=axis), converted=True)
        return entries


def _torch_tensor(link, array, converted=False):
    """``array`` (in the weight's layout, or already ``converted``) as a tensor."""
    values = array if converted else link.to_torch(array)
    values = np.ascontiguousarray(values).astype(array.dtype, copy=True)
    return torch.from_numpy(values).to(link.parameter.device)


def _constant_axis(converted, ndim) -> int | None:
    """The one axis among the last two along which ``converted`` is constant
    (None if none or both, or if its rank is not ``ndim``)."""
    if converted.ndim != ndim:
        return None
    found = [
        axis
        for axis in (-1, -2)
        if np.array_equal(
            converted, np.broadcast_to(np.take(converted, [0], axis), converted.shape)
        )
    ]
    return found[0] if len(found) == 1 else None


def _check_adafactor_layouts(links) -> None:
    """Refuse, naming the weight, a layout whose second moment PyTorch would
    factor over other axes than gradstep."""
    for link in links:
        array = link.array
        shape = tuple(link.parameter.shape)
        if array.ndim < 2:
            same = shape == array.shape
        else:
            probe = np.arange(1, array.size + 1, dtype=np.float64).reshape(array.shape)
            axes = {
                _constant_axis(
                    np.asarray(link.to_torch(np.broadcast_to(mean, array.shape))), array.ndim
                )
                for mean in (probe.mean(-1, keepdims=True), probe.mean(-2, keepdims=True))
            }
            same = axes == {-1, -2}
        if not same:
            raise ValueError(
                "to_torch_optimizer: Adafactor cannot be converted: weight "
                f"{link.path!r} of shape {array.shape} is the parameter of shape {shape}, "
                "whose last two axes are not the weight's: PyTorch's Adafactor would factor "
                "its second moment over other axes than gradstep's"
            )


def _lbfgs(model, optimizer, links):
    """``torch.optim.LBFGS`` (gradstep's LBFGS is its algorithm step for step)
    with the curvature memory: every flat vector (the direction, the ``s`` and
    ``y`` pairs, the last gradient) cut into gradstep's weights, each put in
    its parameter's layout, and joined in the parameters' order. The two-loop
    recursion, the step and the line search use only dot products, sums and
    largest entries of these vectors, which a reordering of their entries
    leaves unchanged."""
    for note in _penalty_notes(model):
        warnings.warn(f"to_torch_optimizer: {note}", TorchConversionWarning, stacklevel=4)
    parameters = [link.parameter for link in links]
    converted = torch.optim.LBFGS(
        parameters,
        lr=float(optimizer.learning_rate),
        max_iter=optimizer.max_iter,
        max_eval=optimizer.max_eval,
        tolerance_grad=optimizer.tolerance_grad,
        tolerance_change=optimizer.tolerance_change,
        history_size=optimizer.history_size,
        line_search_fn=optimizer.line_search_fn,
    )
    if not optimizer.built:
        return converted
    saved = optimizer.get_state()
    state = converted.state[parameters[0]]
    state["func_evals"] = int(saved["func_evals"])
    state["n_iter"] = int(saved["n_iter"])
    if "direction" not in saved:
        return converted
    flat = _torch_flat(model, links)
    dtype = parameters[0].dtype
    state["d"] = flat(saved["direction"])
    state["t"] = float(saved["step_length"])
    state["old_dirs"] = [flat(row) for row in saved["old_dirs"]]
    state["old_stps"] = [flat(row) for row in saved["old_stps"]]
    state["ro"] = [torch.tensor(float(value), dtype=dtype) for value in saved["ro"]]
    state["H_diag"] = torch.tensor(float(saved["H_diag"]), dtype=dtype)
    state["prev_flat_grad"] = flat(saved["prev_flat_grad"])
    state["prev_loss"] = float(saved["prev_loss"])
    return converted


def _torch_flat(model, links):
    """The map from a flat vector over gradstep's weights (in the order the
    model hands them to its optimizer) to one over the module's parameters
    (in the links' order)."""
    variables = [weight for _, weight in model.named_weights(trainable_only=True)]
    starts = np.cumsum([0] + [v.size for v in variables])
    where = {id(v): (start, v.shape) for v, start in zip(variables, starts, strict=False)}

    def flat(vector):
        vector = np.asarray(vector)
        parts = []
        for link in links:
            start, shape = where[id(link.array)]
            weight = vector[start : start + int(np.prod(shape))].reshape(shape)
            parts.append(np.ravel(link.to_torch(weight)))
        joined = np.concatenate(parts)
        if joined.size != vector.size:
            raise ValueError(
                "to_torch_optimizer: LBFGS cannot be converted: the module's parameters do not "
                f"hold each weight entry once ({joined.size} entries for {vector.size})"
            )
        return torch.from_numpy(joined.astype(vector.dtype)).to(links[0].parameter.device)

    return flat


def _adafactor(optimizer, config, learning_rate, notes):
    if optimizer.clip_threshold < 1:
        raise ValueError(
            f"to_torch_optimizer: Adafactor cannot be converted: clip_threshold="
            f"{optimizer.clip_threshold}, and PyTorch's Adafactor takes a clipping threshold "
            "d >= 1"
        )
    if optimizer.weight_decay:
        notes.append(
            f"weight_decay={optimizer.weight_decay}: gradstep scales Adafactor's step by the "
            "weights' root mean square after the decay, PyTorch before it"
        )
    if optimizer.epsilon_1 > 1e-30:
        notes.append(
            f"epsilon_1={optimizer.epsilon_1} is added to every squared gradient in gradstep; "
            "PyTorch bounds the second-moment estimate below by eps1^2 instead (passed as "
            "sqrt(epsilon_1)): the steps differ where the squared gradients come near epsilon_1"
        )
    arguments = {
        "lr": learning_rate,
        "beta2_decay": optimizer.beta_2_decay,
        "eps": (math.sqrt(optimizer.epsilon_1), optimizer.epsilon_2),
        "d": optimizer.clip_threshold,
        "weight_decay": optimizer.weight_decay or 0.0,
    }
    return _AdafactorRule(torch.optim.Adafactor, arguments, [])


_RULES = {
    "SGD": _sgd,
    "GD": _sgd,
    "Adam": _adam,
    "AdamW": _adam,
    "RMSprop": _rmsprop,
    "Adagrad": _adagrad,
    "Adamax": _adamax,
    "Nadam": _nadam,
    "Adadelta": _adadelta,
    "Adafactor": _adafactor,
}
