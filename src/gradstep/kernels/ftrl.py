"""FTRL-Proximal's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order (``n`` the
accumulator, ``z`` the linear term, ``p`` the power)::

    n_new = n + g * g
    sigma = (n_new^p - n^p) / lr
    z += (w * shrinkage + g) - sigma * w        (shrinkage = 2 * l2_shrinkage)
    w = (clip(z, -l1, l1) - z) / (n_new^p / lr + l2_twice)
    n = n_new

so the two give the same numbers (tests/kernels/test_ftrl.py). The powers are
square roots for the usual ``p = 0.5``, which both compute exactly. For any
other ``p`` they are NumPy's ``np.power`` in both paths, computed before the
kernel runs: numba's ``pow`` and NumPy's vectorized one round differently.
Neither slot decays geometrically (``n`` only grows), so none is flushed.
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def ftrl_update(variable, gradient, accumulator, linear, learning_rate, power, l1, l2, shrinkage):
    """Update ``variable``, ``accumulator`` and ``linear`` in place (``l2``
    includes the paper's ``beta / (2 learning_rate)``; ``shrinkage`` is
    ``l2_shrinkage_regularization_strength``)."""
    dtype = variable.dtype.type
    scalars = (dtype(learning_rate), dtype(l1), dtype(2 * l2), dtype(2 * shrinkage))
    arrays = (variable, gradient, accumulator, linear)
    if kernels.fusable(*arrays):
        square_root = power == 0.5
        # Unused scale arrays are passed as the variable: the kernel never reads them.
        scales = (variable, variable) if square_root else _scales(gradient, accumulator, power)
        if kernels.try_launch("ftrl", _compile, (*arrays, *scales), (*scalars, square_root)):
            return
    ftrl_update_numpy(*arrays, dtype(power), *scalars)


def _scales(gradient, accumulator, power):
    """``n^p`` and ``n_new^p`` with NumPy's power, as the twin computes them."""
    new_accumulator = gradient * gradient
    new_accumulator += accumulator
    return _power(accumulator, power), _power(new_accumulator, power, out=new_accumulator)


def _power(array, power, out=None):
    if power == 0.5:
        return np.sqrt(array, out=out)
    return np.power(array, array.dtype.type(power), out=out)


def ftrl_update_numpy(variable, gradient, accumulator, linear, power, lr, l1, l2_twice, shrinkage):
    """The NumPy twin: three temporaries, every operation in place."""
    note(variable, "n before (accumulator of g*g)", accumulator)
    note(variable, "z before (linear)", linear)
    scale = _power(accumulator, power)
    new_scale = gradient * gradient
    accumulator += new_scale
    note(variable, "n after = n + g*g", accumulator)
    _power(accumulator, power, out=new_scale)
    note(variable, "power p (of the learning-rate decay)", power)
    note(variable, "n^p before", scale)
    note(variable, "n^p after", new_scale)
    sigma_w = np.subtract(new_scale, scale, out=scale)
    sigma_w /= lr
    sigma_w *= variable
    note(variable, "sigma * w = (n_after^p - n_before^p) / learning_rate * w", sigma_w)
    shrunk_gradient = variable * shrinkage
    shrunk_gradient += gradient
    note(variable, "g + 2 * l2_shrinkage * w", shrunk_gradient)
    np.subtract(shrunk_gradient, sigma_w, out=shrunk_gradient)
    linear += shrunk_gradient
    note(variable, "z after = z + g_shrunk - sigma * w", linear)
    quadratic = new_scale
    quadratic /= lr
    quadratic += l2_twice
    note(variable, "quadratic = n_after^p / learning_rate + 2 * l2", quadratic)
    clipped = np.clip(linear, -l1, l1, out=shrunk_gradient)
    clipped -= linear
    note(variable, "l1", l1)
    note(variable, "clip(z, -l1, l1) - z", clipped)
    np.divide(clipped, quadratic, out=variable)
    note(variable, "new w = (clip(z, -l1, l1) - z) / quadratic", variable)


def _compile():
    @kernels.jit()
    def ftrl(
        variable,
        gradient,
        accumulator,
        linear,
        scale,
        new_scale,
        lr,
        l1,
        l2_twice,
        shrinkage,
        square_root,
    ):
        for i in range(variable.size):
            g = gradient[i]
            w = variable[i]
            n = accumulator[i]
            n_new = n + g * g
            if square_root:
                old, new = np.sqrt(n), np.sqrt(n_new)
            else:
                old, new = scale[i], new_scale[i]
            sigma = (new - old) / lr
            z = linear[i] + ((w * shrinkage + g) - sigma * w)
            linear[i] = z
            variable[i] = (min(max(z, -l1), l1) - z) / (new / lr + l2_twice)
            accumulator[i] = n_new

    return ftrl
