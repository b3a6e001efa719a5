"""SGD's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order (``lr`` the
learning rate, ``mu`` the momentum, ``m`` the velocity)::

    step = g * lr
    without momentum:  w -= step
    with momentum:     m = m * mu - step;  m = 0 where |m| < tiny
                       w += m * mu - step     (nesterov)
                       w += m                 (otherwise)

so the two give the same numbers (tests/kernels/test_twins.py).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels


def sgd_update(variable, gradient, velocity, learning_rate, momentum, nesterov):
    """Update ``variable`` (and ``velocity``, None without momentum) in place."""
    dtype = variable.dtype.type
    lr, mu = dtype(learning_rate), dtype(momentum)
    if velocity is None:
        if kernels.fusable(variable, gradient):
            kernels.launch("sgd", _compile_plain, [variable, gradient], (lr,))
        else:
            variable -= gradient * lr
        return
    if kernels.fusable(variable, gradient, velocity):
        scalars = (lr, mu, np.finfo(dtype).tiny, bool(nesterov))
        kernels.launch("sgd_momentum", _compile_momentum, [variable, gradient, velocity], scalars)
        return
    sgd_momentum_numpy(variable, gradient, velocity, lr, mu, nesterov)


def sgd_momentum_numpy(variable, gradient, velocity, lr, mu, nesterov):
    """The NumPy twin (with momentum): every operation in place."""
    step = gradient * lr
    velocity *= mu
    velocity -= step
    kernels.flush_subnormals(velocity)
    if nesterov:
        scratch = velocity * mu
        scratch -= step
        variable += scratch
    else:
        variable += velocity


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
