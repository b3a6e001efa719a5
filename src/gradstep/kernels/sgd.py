"""SGD's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order (``lr`` the
learning rate, ``mu`` the momentum)::

    without momentum:  w -= g * lr

    Keras's form (``m`` the velocity, the learning rate inside it):
        step = g * lr
        m = m * mu - step;  m = 0 where |m| < tiny
        w += m * mu - step                (nesterov)
        w += m                            (otherwise)

    PyTorch's form (``b`` the buffer, the learning rate outside it):
        b = b * mu + g;  b = 0 where |b| < tiny
        w -= (g + b * mu) * lr            (nesterov)
        w -= b * lr                       (otherwise)

so the two give the same numbers (tests/kernels/test_sgd.py). The forms give
the same weights while the learning rate is constant (``m = -lr * b``);
when it changes, Keras's velocity still carries the steps of the old rates,
PyTorch's buffer only gradients.
"""

from __future__ import annotations

from gradstep import kernels
from gradstep.kernels.trace import note


def sgd_update(
    variable, gradient, velocity, learning_rate, momentum, nesterov, momentum_form="keras"
):
    """Update ``variable`` (and ``velocity``, None without momentum) in place;
    ``velocity`` is Keras's velocity, or PyTorch's buffer when ``momentum_form``
    is ``"pytorch"``."""
    dtype = variable.dtype.type
    lr, mu = dtype(learning_rate), dtype(momentum)
    if velocity is None:
        fused = kernels.fusable(variable, gradient)
        if not (fused and kernels.try_launch("sgd", _compile_plain, [variable, gradient], (lr,))):
            step = gradient * lr
            note(variable, "step = g * learning_rate, subtracted", step)
            variable -= step
        return
    pytorch = momentum_form == "pytorch"
    if kernels.fusable(variable, gradient, velocity):
        scalars = (lr, mu, kernels.smallest_normal(dtype), bool(nesterov))
        name, compile_kernel = (
            ("sgd_pytorch_momentum", _compile_pytorch_momentum)
            if pytorch
            else ("sgd_momentum", _compile_momentum)
        )
        if kernels.try_launch(name, compile_kernel, [variable, gradient, velocity], scalars):
            return
    twin = sgd_pytorch_momentum_numpy if pytorch else sgd_momentum_numpy
    twin(variable, gradient, velocity, lr, mu, nesterov)


def sgd_momentum_numpy(variable, gradient, velocity, lr, mu, nesterov):
    """The NumPy twin of Keras's form: every operation in place."""
    step = gradient * lr
    note(variable, "g * learning_rate", step)
    note(variable, "velocity before", velocity)
    velocity *= mu
    velocity -= step
    kernels.flush_subnormals(velocity)
    note(variable, "momentum", mu)
    note(variable, "velocity after = velocity * momentum - g * learning_rate", velocity)
    if nesterov:
        scratch = velocity * mu
        scratch -= step
        note(variable, "step = velocity * momentum - g * learning_rate (Nesterov), added", scratch)
        variable += scratch
    else:
        note(variable, "step = velocity, added", velocity)
        variable += velocity


def sgd_pytorch_momentum_numpy(variable, gradient, buffer, lr, mu, nesterov):
    """The NumPy twin of PyTorch's form: one temporary, every operation in place."""
    note(variable, "buffer before", buffer)
    buffer *= mu
    buffer += gradient
    kernels.flush_subnormals(buffer)
    note(variable, "momentum", mu)
    note(variable, "buffer after = buffer * momentum + g", buffer)
    if nesterov:
        scratch = buffer * mu
        scratch += gradient
        scratch *= lr
        note(
            variable,
            "step = (g + buffer * momentum) * learning_rate (Nesterov), subtracted",
            scratch,
        )
    else:
        scratch = buffer * lr
        note(variable, "step = buffer * learning_rate, subtracted", scratch)
    variable -= scratch


def _compile_plain():
    @kernels.jit()
    def sgd(variable, gradient, lr):
        for i in range(variable.size):
            variable[i] -= gradient[i] * lr

    return sgd


def _compile_momentum():
    @kernels.jit()
    def sgd_momentum(variable, gradient, velocity, lr, mu, tiny, nesterov):
        zero = tiny - tiny
        for i in range(variable.size):
            step = gradient[i] * lr
            m = velocity[i] * mu - step
            m = zero if abs(m) < tiny else m
            velocity[i] = m
            if nesterov:
                variable[i] += m * mu - step
            else:
                variable[i] += m

    return sgd_momentum


def _compile_pytorch_momentum():
    @kernels.jit()
    def sgd_pytorch_momentum(variable, gradient, buffer, lr, mu, tiny, nesterov):
        zero = tiny - tiny
        for i in range(variable.size):
            g = gradient[i]
            b = buffer[i] * mu + g
            b = zero if abs(b) < tiny else b
            buffer[i] = b
            if nesterov:
                variable[i] -= (g + b * mu) * lr
            else:
                variable[i] -= b * lr

    return sgd_pytorch_momentum
