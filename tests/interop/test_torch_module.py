"""``to_torch``: every layer case of tests/layer_cases/*.py (masked ones too) as a PyTorch module
gives gradstep's outputs, in inference and in training mode, to 1e-5 of the
largest output (float32 round-off: each output is a sum of at most a few
hundred float32 products, computed in another order by PyTorch's kernels)."""

import importlib
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import functional_models
import gradstep
import layer_cases
from gradstep import optimizers

pytestmark = pytest.mark.requires("torch", extra="interop")

FAMILIES = sorted(
    path.stem
    for path in (pathlib.Path(layer_cases.__file__).parent).glob("*.py")
    if path.stem != "__init__"
)

#: Cases PyTorch cannot run as gradstep does, and the reason the error gives.
REFUSED = {
    "normalization-batch_norm_renorm": "batch renormalization",
    "normalization-batch_norm_renorm_unclipped_no_scale": "batch renormalization",
    "masking-batch_norm_renorm_masked_moments": "batch renormalization",
}


def all_cases():
    return list(_cases())


def _cases():
    for family in FAMILIES:
        for case in importlib.import_module(f"layer_cases.{family}").CASES:
            yield pytest.param(layer_cases.complete(case), id=f"{family}-{case['name']}")


def trained_model(case):
    """The case's gradstep model after two training steps (moving statistics
    and weights away from their initial values)."""
    model = layer_cases.build(case, gradstep)
    x = layer_cases.inputs_for(case, np)
    y = layer_cases.targets_for(case, model.outputs[0].shape, np)
    model.compile(optimizer=optimizers.SGD(0.05), loss=case["loss"])
    for _ in range(2):
        model.train_on_batch(x, y)
    return model, x


def close(got, want, what):
    want = np.asarray(want, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(
        np.asarray(got, dtype=np.float64), want, rtol=0, atol=1e-5 * scale, err_msg=what
    )


@pytest.mark.parametrize("case", all_cases())
def test_each_layer_case_gives_gradsteps_outputs(case, request):
    import torch

    from gradstep.interop import to_torch

    case_id = request.node.callspec.id
    model, x = trained_model(case)
    if case_id in REFUSED:
        with pytest.raises(ValueError, match=REFUSED[case_id]) as error:
            to_torch(model)
        assert "layer '" in str(error.value)
        return
    module = to_torch(model)
    with torch.no_grad():
        close(module(torch.from_numpy(x)).numpy(), model.predict(x, verbose=0), "inference")
        if case["train"] and not any(
            name.startswith(("Gaussian", "Spatial", "Dropout")) for name, *_ in case["layers"]
        ):
            module.train()
            close(module(torch.from_numpy(x)).numpy(), model(x, training=True), "training")


def _draws_noise(case):
    return not case["train"] or any(
        name.startswith(("Gaussian", "Spatial", "Dropout")) for name, *_ in case["layers"]
    )


def _trains_alike(param) -> bool:
    """Cases whose training loss is a plain mean squared error in PyTorch: no
    weight or activity penalty (part of gradstep's loss), no noise, no mask
    (which gradstep's loss leaves out of an output)."""
    case = param.values[0]
    return (
        param.id not in REFUSED
        and case["loss"] == "mse"
        and not _draws_noise(case)
        and "regulariz" not in repr(case).lower()
        and "mask" not in repr(case).lower()
    )


@pytest.mark.parametrize("case", [param for param in all_cases() if _trains_alike(param)])
def test_each_layer_case_gives_gradsteps_gradients(case, request):
    """The slope of the loss at every parameter is gradstep's at its weight,
    in the parameter's layout: PyTorch trains the module as gradstep trains
    the model."""
    import torch

    from gradstep.interop import to_torch

    model, x = trained_model(case)
    assert all(tensor.mask_shape is None for tensor in model.outputs)
    y = layer_cases.targets_for(case, model.outputs[0].shape, np)
    module = to_torch(model).train()
    loss = torch.mean((module(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2)
    loss.backward()
    _, gradients = model.gradients(x, y)
    by_weight = {id(weight): gradient for _, weight, gradient in gradients}
    for link in module.gradstep_links:
        want = link.to_torch(by_weight[id(link.array)])
        got = link.parameter.grad
        got = np.zeros_like(want) if got is None else got.numpy()
        close(got, want, link.path)


def _inputs_for(model, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, *tensor.shape[1:])).astype("float32") for tensor in model.inputs]


BUILDERS = [
    "two_inputs_shared_residual",
    "two_outputs",
    "every_merge",
    "shared_at_two_depths",
    "a_chain",
    "long_names_and_a_flatten_called_twice",
    "mnist_convnet",
    "batchnorm_mlp",
]


@pytest.mark.parametrize("builder", [getattr(functional_models, n) for n in BUILDERS], ids=BUILDERS)
def test_functional_models_with_several_inputs_and_outputs(builder):
    import torch

    from gradstep.interop import to_torch

    model = builder(gradstep)
    arrays = _inputs_for(model)
    want = model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    module = to_torch(model)
    with torch.no_grad():
        got = module(*[torch.from_numpy(a) for a in arrays])
    want = want if isinstance(want, list) else [want]
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(want) == len(model.outputs)
    for g, w in zip(got, want, strict=True):
        close(g.numpy(), w, builder.__name__)


def test_a_model_used_as_a_layer_becomes_a_submodule():
    import torch

    from gradstep.interop import to_torch

    inner = gradstep.Sequential(
        [gradstep.Input((4,)), gradstep.layers.Dense(3, activation="relu", name="inner_dense")],
        name="inner",
    )
    x = gradstep.Input((4,))
    model = gradstep.Model(x, gradstep.layers.Dense(2, name="head")(inner(x)))
    data = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    module = to_torch(model)
    with torch.no_grad():
        close(module(torch.from_numpy(data)).numpy(), model.predict(data, verbose=0), "nested")
    paths = [link.path for link in module.gradstep_links]
    assert paths == [
        "inner/inner_dense/kernel",
        "inner/inner_dense/bias",
        "head/kernel",
        "head/bias",
    ]


def test_the_parameters_are_the_weights_in_pytorchs_layouts():
    from gradstep.interop import to_torch

    model = gradstep.Sequential(
        [
            gradstep.Input((6, 6, 2)),
            gradstep.layers.Conv2D(3, (2, 3), name="conv"),
            gradstep.layers.Flatten(name="flatten"),
            gradstep.layers.Dense(4, name="dense"),
        ]
    )
    module = to_torch(model)
    weights = {link.path: link for link in module.gradstep_links}
    kernel = model.get_layer("dense").kernel
    assert tuple(weights["dense/kernel"].parameter.shape) == (4, kernel.shape[0])
    np.testing.assert_array_equal(weights["dense/kernel"].parameter.detach().numpy(), kernel.T)
    conv = model.get_layer("conv").kernel  # (2, 3, 2, 3): (kh, kw, in, out)
    np.testing.assert_array_equal(
        weights["conv/kernel"].parameter.detach().numpy(), conv.transpose(3, 2, 0, 1)
    )
    assert sum(p.numel() for p in module.parameters()) == model.count_params()


def test_batch_normalization_carries_momentum_and_epsilon():
    from gradstep.interop import to_torch

    model = gradstep.Sequential(
        [
            gradstep.Input((3,)),
            gradstep.layers.BatchNormalization(momentum=0.9, epsilon=0.01, name="norm"),
        ]
    )
    (norm,) = to_torch(model).layers.values()
    assert norm.momentum == pytest.approx(0.1) and norm.eps == 0.01


def test_a_layer_pytorch_cannot_run_is_refused_by_name():
    from gradstep.interop import to_torch

    model = gradstep.Sequential(
        [gradstep.Input((3,)), gradstep.layers.Dense(2, activation=lambda x: x * 2, name="odd")]
    )
    with pytest.raises(ValueError, match="layer 'odd' \\(Dense\\).*Python function"):
        to_torch(model)
    model = gradstep.Sequential(
        [gradstep.Input((3,)), gradstep.layers.Lambda(lambda x: x + 1, name="shift")]
    )
    with pytest.raises(ValueError, match="layer 'shift' \\(Lambda\\).*Python code"):
        to_torch(model)


def test_a_subclass_that_computes_its_own_output_is_refused():
    from gradstep.interop import to_torch

    class Doubled(gradstep.layers.Dense):
        def forward(self, x, training=False):
            output, saved = super().forward(x, training)
            return 2 * output, saved

    model = gradstep.Sequential([gradstep.Input((3,)), Doubled(2, name="doubled")])
    with pytest.raises(ValueError, match="'doubled'.*computes its own output"):
        to_torch(model)


def test_importing_gradstep_interop_does_not_import_torch():
    code = "import sys, gradstep, gradstep.interop; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_subclassed_model_converts_through_its_traced_graph():
    import torch

    from gradstep.interop import to_torch

    class TwoLayers(gradstep.Model):
        def __init__(self):
            super().__init__()
            self.hidden = gradstep.layers.Dense(4, activation="relu", name="hidden")
            self.out = gradstep.layers.Dense(2, name="out")

        def call(self, x):
            return self.out(self.hidden(x))

    model = TwoLayers()
    x = np.random.default_rng(2).normal(size=(3, 5)).astype("float32")
    model(x)
    with torch.no_grad():
        close(to_torch(model)(torch.from_numpy(x)).numpy(), model.predict(x, verbose=0), "call")


def test_frozen_layers_give_frozen_parameters_and_float64_layers_stay_float64():
    import torch

    from gradstep.interop import to_torch

    model = gradstep.Sequential(
        [
            gradstep.Input((5,)),
            gradstep.layers.Dense(3, name="frozen", trainable=False),
            gradstep.layers.BatchNormalization(trainable=False, name="inference_norm"),
            gradstep.layers.Dense(2, name="wide", dtype="float64"),
        ]
    )
    x = np.random.default_rng(3).normal(size=(4, 5)).astype("float32")
    module = to_torch(model).train()  # the frozen BatchNormalization stays in inference mode
    assert [link.path for link in module.gradstep_links] == ["wide/kernel", "wide/bias"]
    trained = [name for name, p in module.named_parameters() if p.requires_grad]
    assert trained == ["layers.wide.linear.weight", "layers.wide.linear.bias"]
    output = module(torch.from_numpy(x))
    assert output.dtype == torch.float64
    close(output.detach().numpy(), model(x, training=True), "training mode")


@pytest.mark.parametrize(
    "layer",
    [
        {"class": "Resizing", "height": 4, "width": 7},
        {"class": "Resizing", "height": 9, "width": 5, "interpolation": "nearest"},
        {"class": "Resizing", "height": 4, "width": 4, "crop_to_aspect_ratio": True},
        {
            "class": "Resizing",
            "height": 5,
            "width": 5,
            "pad_to_aspect_ratio": True,
            "fill_value": 0.5,
            "data_format": "channels_first",
        },
        {"class": "CenterCrop", "height": 3, "width": 4},
        {"class": "CenterCrop", "height": 8, "width": 3},
    ],
    ids=lambda config: "-".join(f"{v}" for v in config.values()),
)
def test_resizing_and_cropping_images(layer):
    import torch

    from gradstep.interop import to_torch

    config = dict(layer)
    class_name = config.pop("class")
    first = config.get("data_format") == "channels_first"
    shape = (3, 6, 8) if first else (6, 8, 3)
    model = gradstep.Sequential(
        [gradstep.Input(shape), getattr(gradstep.layers, class_name)(**config, name="image")]
    )
    x = np.random.default_rng(4).uniform(size=(2, *shape)).astype("float32")
    with torch.no_grad():
        close(to_torch(model)(torch.from_numpy(x)).numpy(), model.predict(x, verbose=0), "image")


def test_random_flip_and_contrast_act_in_training_only():
    import torch

    from gradstep.interop import to_torch

    model = gradstep.Sequential(
        [
            gradstep.Input((4, 5, 2)),
            gradstep.layers.RandomFlip("horizontal", name="flip"),
            gradstep.layers.RandomContrast(0.5, name="contrast"),
        ]
    )
    x = np.random.default_rng(5).uniform(size=(16, 4, 5, 2)).astype("float32")
    module = to_torch(model)
    with torch.no_grad():
        np.testing.assert_array_equal(module(torch.from_numpy(x)).numpy(), x)
        torch.manual_seed(0)
        flipped = module.layers[model.layers[0].name].train()(torch.from_numpy(x)).numpy()
    same = [np.array_equal(a, b) for a, b in zip(flipped, x, strict=True)]
    mirrored = [np.array_equal(a, b[:, ::-1]) for a, b in zip(flipped, x, strict=True)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True))
    assert any(same) and any(mirrored)


def test_a_model_with_two_outputs_used_as_a_layer_converts():
    import torch

    from gradstep.interop import to_torch

    inner_input = gradstep.Input(shape=(4,))
    hidden = gradstep.layers.Dense(3, activation="tanh")(inner_input)
    encoder = gradstep.Model(
        inner_input, [gradstep.layers.Dense(2)(hidden), gradstep.layers.Dense(2)(hidden)]
    )
    x = gradstep.Input(shape=(4,))
    mean, log_var = encoder(x)
    product = gradstep.layers.Multiply()([log_var, log_var])
    model = gradstep.Model(
        x, gradstep.layers.Dense(1)(gradstep.layers.Concatenate()([mean, product]))
    )
    data = np.random.default_rng(7).normal(size=(3, 4)).astype(np.float32)
    with torch.no_grad():
        close(to_torch(model)(torch.from_numpy(data)).numpy(), model.predict(data, verbose=0), "")
