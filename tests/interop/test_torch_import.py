"""``from_torch``: an ``nn.Sequential`` of the layers both libraries have, as a
gradstep model giving the module's outputs (``eval()``) to 1e-5 of the largest
output (float32 round-off, as in test_torch_module.py); and back through
``to_torch``."""

import numpy as np
import pytest

pytestmark = pytest.mark.requires("torch", extra="interop")


def modules():
    from torch import nn

    return {
        "mlp": (
            nn.Sequential(
                nn.Linear(5, 8),
                nn.ReLU(),
                nn.Dropout(0.3),
                nn.Linear(8, 6),
                nn.LayerNorm(6),
                nn.GELU(approximate="tanh"),
                nn.Linear(6, 3),
                nn.Softmax(dim=-1),
            ),
            (5,),
        ),
        "convnet": (
            nn.Sequential(
                nn.Conv2d(2, 4, 3, padding=1),
                nn.BatchNorm2d(4, momentum=0.2, eps=1e-4),
                nn.ReLU6(),
                nn.MaxPool2d(2),
                nn.Conv2d(4, 6, (2, 3), stride=2, groups=2, bias=False),
                nn.GroupNorm(3, 6),
                nn.SiLU(),
                nn.AvgPool2d(1),
                nn.Dropout2d(0.1),
                nn.Flatten(),
                nn.Linear(12, 2),
            ),
            (2, 8, 9),
        ),
        "global_pool": (
            nn.Sequential(
                nn.Conv1d(3, 4, 3, dilation=2, padding="same"),
                nn.ELU(alpha=0.5),
                nn.AdaptiveAvgPool1d(1),
                nn.Flatten(),
                nn.BatchNorm1d(4),
                nn.LeakyReLU(0.1),
                nn.Identity(),
                nn.Linear(4, 2),
                nn.Tanh(),
            ),
            (3, 7),
        ),
        "tokens": (
            nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2), nn.Sigmoid()),
            (3,),
        ),
    }


def _trained_statistics(module, x):
    """A few training passes, so that batch statistics move away from 0 and 1."""
    import torch

    module.train()
    with torch.no_grad():
        for _ in range(3):
            module(x)
    return module.eval()


@pytest.mark.parametrize("name", ["mlp", "convnet", "global_pool", "tokens"])
def test_a_sequential_module_gives_its_outputs_in_gradstep(name):
    import torch

    from gradstep.interop import from_torch, to_torch

    torch.manual_seed(0)
    module, shape = modules()[name]
    rng = np.random.default_rng(0)
    if name == "tokens":
        x = rng.integers(0, 10, size=(4, *shape))
    else:
        x = rng.normal(size=(4, *shape)).astype("float32")
    module = _trained_statistics(module, torch.from_numpy(x))
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    model = from_torch(module, shape)
    got = model.predict(x, verbose=0)
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * scale)
    with torch.no_grad():
        again = to_torch(model)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(again, want, rtol=0, atol=1e-5 * scale)


def test_batch_norm_momentum_becomes_keras():
    from torch import nn

    from gradstep.interop import from_torch

    model = from_torch(nn.Sequential(nn.BatchNorm1d(3, momentum=0.1, eps=1e-5)), (3,))
    (norm,) = model.layers
    assert norm.momentum == pytest.approx(0.9) and norm.epsilon == 1e-5


def test_a_module_without_a_gradstep_layer_is_refused_by_name():
    from torch import nn

    from gradstep.interop import from_torch

    with pytest.raises(ValueError, match=r"layer 1 \(Bilinear\)"):
        from_torch(nn.Sequential(nn.Linear(3, 3), nn.Bilinear(3, 3, 2)), (3,))
    with pytest.raises(ValueError, match="nn.Sequential"):
        from_torch(nn.Linear(3, 3), (3,))
