"""Layer cases written once for Keras and for gradstep.

Each module here (one per layer family) holds ``CASES``: a list of dicts that
``tools/make_keras_layer_fixtures.py`` runs through Keras 3 and
``tests/layers/test_keras_layer_parity.py`` runs through gradstep, from the
same initial weights and data. A case:

    name:         unique within its family
    layers:       [(class name, config), ...]: the model is Input -> these layers
    input_shape:  one sample's shape
    batch:        samples (also the batch size: one step per epoch). Default 4.
    steps:        training steps (SGD unless ``optimizer``). Default 3.
    optimizer:    (class name, config). Default ("SGD", {"learning_rate": 0.1}).
    loss:         Default "mse", against targets of the output's shape.
    targets:      "normal" (default) or "one_hot" (one class per position along
                  the output's last axis, for a cross-entropy loss).
    inputs:       "normal" (default), "positive", or {"tokens": vocabulary size}
                  (integers in [0, size), for Embedding).
    input_dtype:  the Input's dtype. Default "float32" ("int32" for tokens).
    train:        False for a layer whose training pass draws noise (Dropout):
                  only its inference output is compared. Default True.
    seed:         for the data and Keras's initial weights. Default 0.

Keras's classes and configs are given by name, so a case reads the same in
both libraries; regularizers and constraints are given as names or as
``{"class_name": ..., "config": ...}`` dicts, which both libraries accept.
"""

DEFAULTS = {
    "batch": 4,
    "steps": 3,
    "optimizer": ("SGD", {"learning_rate": 0.1}),
    "loss": "mse",
    "targets": "normal",
    "inputs": "normal",
    "train": True,
    "seed": 0,
}


def complete(case: dict) -> dict:
    """The case with its defaults filled in."""
    case = {**DEFAULTS, **case}
    tokens = isinstance(case["inputs"], dict)
    case.setdefault("input_dtype", "int32" if tokens else "float32")
    return case


def inputs_for(case: dict, numpy):
    """The case's input data (the same in both libraries: drawn with NumPy)."""
    rng = numpy.random.default_rng(case["seed"])
    shape = (case["batch"], *case["input_shape"])
    if isinstance(case["inputs"], dict):
        return rng.integers(0, case["inputs"]["tokens"], size=shape).astype(case["input_dtype"])
    values = rng.normal(size=shape)
    if case["inputs"] == "positive":
        values = numpy.abs(values) + 0.1
    return values.astype(case["input_dtype"])


def targets_for(case: dict, output_shape, numpy):
    rng = numpy.random.default_rng(case["seed"] + 1)
    shape = (case["batch"], *output_shape[1:])
    if case.get("targets", "normal") == "one_hot":
        classes = rng.integers(0, shape[-1], size=shape[:-1])
        return numpy.eye(shape[-1], dtype="float32")[classes]
    return rng.normal(size=shape).astype("float32")


def build(case: dict, library):
    """Input -> the case's layers, as a functional model of ``library``
    (``keras`` or ``gradstep``)."""
    inputs = library.Input(shape=tuple(case["input_shape"]), dtype=case["input_dtype"])
    tensor = inputs
    for index, (class_name, config) in enumerate(case["layers"]):
        layer = getattr(library.layers, class_name)(**config, name=f"layer_{index}")
        tensor = layer(tensor)
    return library.Model(inputs, tensor)
