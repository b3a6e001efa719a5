"""RMSprop's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order (``s`` the mean
square, ``a`` the mean gradient, ``b`` the momentum buffer)::

    s = rho * s + (1 - rho) * (g * g);          s = 0 where s < tiny
    a = rho * a + (1 - rho) * g;                a = 0 where |a| < tiny   (centered)
    d = s - a * a + eps_inside   (centered)   or   s + eps_inside
    r = sqrt(d) + eps_outside
    without momentum:      w -= (lr * g) / r
    Keras's momentum:      b = momentum * b + (lr * g) / r;  b = 0 where |b| < tiny;  w -= b
    PyTorch's momentum:    b = momentum * b + g / r;  b = 0 where |b| < tiny;  w -= lr * b

so the two give the same numbers (tests/kernels/test_rmsprop.py). Keras puts
epsilon inside the square root (``eps_outside = 0``), PyTorch outside it
(``eps_inside = 0``); adding 0 changes nothing, so either is exact. Keras's
buffer holds steps (the learning rate inside), PyTorch's scaled gradients
(the learning rate outside): the same weights while the rate is constant,
different ones when it changes.
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def rmsprop_update(
    variable,
    gradient,
    mean_square,
    mean_gradient,
    velocity,
    learning_rate,
    rho,
    momentum,
    eps_inside,
    eps_outside,
    momentum_form="keras",
):
    """Update ``variable`` and the slots in place; ``mean_gradient`` is None
    unless centered, ``velocity`` None without momentum (Keras's buffer, or
    PyTorch's when ``momentum_form`` is ``"pytorch"``)."""
    dtype = variable.dtype.type
    scalars = tuple(
        dtype(s) for s in (learning_rate, rho, 1 - rho, momentum, eps_inside, eps_outside)
    )
    arrays = [variable, gradient, mean_square, mean_gradient, velocity]
    pytorch_momentum = momentum_form == "pytorch"
    if kernels.fusable(*[a for a in arrays if a is not None]):
        # An unused slot is passed as the variable itself: the kernel never
        # touches it, and numba needs an array there.
        filled = [variable if a is None else a for a in arrays]
        flags = (mean_gradient is not None, velocity is not None, pytorch_momentum)
        scalars_and_flags = (*scalars, kernels.smallest_normal(dtype), *flags)
        if kernels.try_launch("rmsprop", _compile, filled, scalars_and_flags):
            return
    rmsprop_update_numpy(*arrays, *scalars, pytorch_momentum)


def rmsprop_update_numpy(
    variable,
    gradient,
    mean_square,
    mean_gradient,
    velocity,
    lr,
    rho,
    one_minus_rho,
    mu,
    eps_inside,
    eps_outside,
    pytorch_momentum=False,
):
    """The NumPy twin: one temporary, every operation in place."""
    note(variable, "s before (mean square)", mean_square)
    scratch = gradient * gradient
    scratch *= one_minus_rho
    mean_square *= rho
    mean_square += scratch
    kernels.flush_subnormals(mean_square, non_negative=True)
    note(variable, "rho", rho)
    note(variable, "s after = rho * s + (1 - rho) * g*g", mean_square)
    if mean_gradient is not None:
        note(variable, "a before (mean gradient, centered)", mean_gradient)
        np.multiply(gradient, one_minus_rho, out=scratch)
        mean_gradient *= rho
        mean_gradient += scratch
        kernels.flush_subnormals(mean_gradient)
        note(variable, "a after = rho * a + (1 - rho) * g", mean_gradient)
        np.multiply(mean_gradient, mean_gradient, out=scratch)
        np.subtract(mean_square, scratch, out=scratch)
        scratch += eps_inside
        note(variable, "epsilon inside the root", eps_inside)
        note(variable, "s - a*a + epsilon", scratch)
    else:
        np.add(mean_square, eps_inside, out=scratch)
        note(variable, "epsilon inside the root", eps_inside)
        note(variable, "s + epsilon", scratch)
    np.sqrt(scratch, out=scratch)
    scratch += eps_outside
    note(variable, "epsilon outside the root", eps_outside)
    note(variable, "denominator r = sqrt(...) + epsilon outside the root", scratch)
    if velocity is not None and pytorch_momentum:
        note(variable, "buffer before", velocity)
        np.divide(gradient, scratch, out=scratch)
        note(variable, "g / r", scratch)
        velocity *= mu
        velocity += scratch
        kernels.flush_subnormals(velocity)
        note(variable, "momentum", mu)
        note(variable, "buffer after = momentum * buffer + g / r", velocity)
        np.multiply(velocity, lr, out=scratch)
        note(variable, "step = buffer * learning_rate, subtracted", scratch)
        variable -= scratch
        return
    np.divide(lr * gradient, scratch, out=scratch)
    note(variable, "learning_rate * g / r", scratch)
    if velocity is not None:
        note(variable, "velocity before", velocity)
        velocity *= mu
        velocity += scratch
        kernels.flush_subnormals(velocity)
        note(variable, "momentum", mu)
        note(variable, "velocity after = momentum * velocity + learning_rate * g / r", velocity)
        note(variable, "step = velocity, subtracted", velocity)
        variable -= velocity
    else:
        note(variable, "step = learning_rate * g / r, subtracted", scratch)
        variable -= scratch


def _compile():
    @kernels.jit()
    def rmsprop(
        variable,
        gradient,
        mean_square,
        mean_gradient,
        velocity,
        lr,
        rho,
        one_minus_rho,
        mu,
        eps_inside,
        eps_outside,
        tiny,
        centered,
        has_momentum,
        pytorch_momentum,
    ):
        zero = tiny - tiny
        for i in range(variable.size):
            g = gradient[i]
            s = rho * mean_square[i] + (g * g) * one_minus_rho
            s = zero if s < tiny else s
            mean_square[i] = s
            if centered:
                a = rho * mean_gradient[i] + g * one_minus_rho
                a = zero if abs(a) < tiny else a
                mean_gradient[i] = a
                denominator = s - a * a + eps_inside
            else:
                denominator = s + eps_inside
            root = np.sqrt(denominator) + eps_outside
            if has_momentum and pytorch_momentum:
                b = mu * velocity[i] + g / root
                b = zero if abs(b) < tiny else b
                velocity[i] = b
                variable[i] -= lr * b
            elif has_momentum:
                b = mu * velocity[i] + (lr * g) / root
                b = zero if abs(b) < tiny else b
                velocity[i] = b
                variable[i] -= b
            else:
                variable[i] -= (lr * g) / root

    return rmsprop
