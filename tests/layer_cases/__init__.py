"""Layer cases written once for Keras and for gradstep.

Each module here (one per layer family) holds ``CASES``: a list of dicts that
``tools/make_keras_layer_fixtures.py`` runs through Keras 3 and
``tests/layers/test_keras_layer_parity.py`` runs through gradstep, from the
same initial weights and data. A case:

    name:         unique within its family
    layers:       [(class name, config), ...]: the model is Input -> these layers;
                  an entry (class name, config, call keywords) is called on its
                  input twice, ``layer(x, x, **keywords)`` (self-attention)
    branches:     optional [[(class name, config), ...], ...]: chains of layers
                  that each take the Input, joined by ``merge`` (class name,
                  config) before ``layers``.
    input_shape:  one sample's shape
    batch:        samples (also the batch size: one step per epoch). Default 4.
    steps:        training steps (SGD unless ``optimizer``). Default 3.
    optimizer:    (class name, config). Default ("SGD", {"learning_rate": 0.1}).
    loss:         Default "mse", against normal targets of the output's shape.
    targets:      "normal" (default), or {"classes": n}: integer labels in [0, n)
                  of the output's shape without its last axis (for a sparse
                  cross-entropy).
    metrics:      compiled with the loss (e.g. ["mae"]); then ``evaluate`` is
                  the list [loss, *metrics]. Default none.
    inputs:       "normal" (default), "positive", {"tokens": vocabulary size}
                  (integers in [0, size), for Embedding), or {"zeroed_steps":
                  fraction}: normal sequences with that fraction of their
                  steps set to zeros (for Masking).
    input_dtype:  the Input's dtype. Default "float32" ("int32" for tokens).
    train:        False for a layer whose training pass draws noise (Dropout):
                  only its inference output is compared. Default True.
    seed:         for the data and Keras's initial weights. Default 0.

Keras's classes and configs are given by name, so a case reads the same in
both libraries; a wrapper's ``layer`` (and ``backward_layer``) is given as
``{"class_name": ..., "config": ...}`` and built in each library;
regularizers and constraints are given as names or as
``{"class_name": ..., "config": ...}`` dicts, which both libraries accept.
"""

DEFAULTS = {
    "batch": 4,
    "steps": 3,
    "optimizer": ("SGD", {"learning_rate": 0.1}),
    "loss": "mse",
    "inputs": "normal",
    "targets": "normal",
    "metrics": None,
    "train": True,
    "seed": 0,
}


def complete(case: dict) -> dict:
    """The case with its defaults filled in."""
    case = {**DEFAULTS, **case}
    tokens = isinstance(case["inputs"], dict) and "tokens" in case["inputs"]
    case.setdefault("input_dtype", "int32" if tokens else "float32")
    return case


def inputs_for(case: dict, numpy):
    """The case's input data (the same in both libraries: drawn with NumPy)."""
    rng = numpy.random.default_rng(case["seed"])
    shape = (case["batch"], *case["input_shape"])
    if isinstance(case["inputs"], dict) and "zeroed_steps" in case["inputs"]:
        values = rng.normal(size=shape)
        zeroed = rng.random(shape[:2]) < case["inputs"]["zeroed_steps"]
        values[zeroed] = 0.0
        return values.astype(case["input_dtype"])
    if isinstance(case["inputs"], dict):
        return rng.integers(0, case["inputs"]["tokens"], size=shape).astype(case["input_dtype"])
    values = rng.normal(size=shape)
    if case["inputs"] == "positive":
        values = numpy.abs(values) + 0.1
    return values.astype(case["input_dtype"])


def targets_for(case: dict, output_shape, numpy):
    rng = numpy.random.default_rng(case["seed"] + 1)
    if isinstance(case["targets"], dict):
        shape = (case["batch"], *output_shape[1:-1])
        return rng.integers(0, case["targets"]["classes"], size=shape).astype("float32")
    return rng.normal(size=(case["batch"], *output_shape[1:])).astype("float32")


def build(case: dict, library):
    """Input -> the case's branches and merge, if any -> its layers, as a
    functional model of ``library`` (``keras`` or ``gradstep``)."""
    inputs = library.Input(shape=tuple(case["input_shape"]), dtype=case["input_dtype"])
    tensor = inputs
    if "branches" in case:
        ends = [
            _chain(inputs, branch, f"branch_{number}_", library)
            for number, branch in enumerate(case["branches"])
        ]
        class_name, config = case["merge"]
        tensor = getattr(library.layers, class_name)(**config, name="merge")(ends)
    tensor = _chain(tensor, case["layers"], "layer_", library)
    return library.Model(inputs, tensor)


def _chain(tensor, layers, prefix: str, library):
    for index, (class_name, config, *call) in enumerate(layers):
        config = {
            key: _inner_layer(value, library) if key in ("layer", "backward_layer") else value
            for key, value in config.items()
        }
        layer = getattr(library.layers, class_name)(**config, name=f"{prefix}{index}")
        tensor = layer(tensor, tensor, **call[0]) if call else layer(tensor)
    return tensor


def _inner_layer(spec: dict, library):
    """A wrapped layer (Bidirectional's, TimeDistributed's) built in ``library``."""
    return getattr(library.layers, spec["class_name"])(**spec["config"])
