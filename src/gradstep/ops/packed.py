"""Primitives with several outputs (``qr``, ``eigh``, ``fft``'s real and
imaginary parts), packed into one array so that the tape sees one result.

``forward`` returns a tuple of arrays sharing their leading (batch) axes;
they are flattened past those axes and joined along one last axis. The
unpacking is a ``getitem`` and a ``reshape`` each, so the slope of each
output reaches the packed result through their slopes, and ``vjp`` receives
the slopes of all outputs, unpacked again.
"""

from __future__ import annotations

import numpy as np

from gradstep.ops import numpy as knp
from gradstep.ops.primitive import Primitive
from gradstep.ops.tape import operand


def packed(name: str, forward, vjps, batch_ndim):
    """A function of ``arrays`` returning ``forward``'s tuple, each output
    differentiable: ``vjps[i](slopes, outputs, *arrays)`` gives argument i's
    slope from every output's slope. ``batch_ndim(*arrays)`` counts the leading
    axes the outputs share."""

    def call(*arrays):
        values = [np.asarray(knp.unwrap(knp.lift(a))) for a in arrays]
        batch = batch_ndim(*values)
        shapes = [np.shape(o)[batch:] for o in forward(*values)]
        sizes = [int(np.prod(s)) for s in shapes]

        def pack(*args):
            outputs = forward(*args)
            lead = np.shape(outputs[0])[:batch]
            return np.concatenate([np.reshape(o, (*lead, -1)) for o in outputs], axis=-1)

        def unpack(array):
            lead = np.shape(array)[:-1]
            bounds = np.cumsum([0, *sizes])
            return [
                np.reshape(array[..., lo:hi], (*lead, *shape))
                for lo, hi, shape in zip(bounds[:-1], bounds[1:], shapes, strict=True)
            ]

        def make_vjp(vjp):
            return lambda g, y, *args: vjp(unpack(g), unpack(y), *args)

        primitive = Primitive(name, pack, *[make_vjp(v) for v in vjps])
        result = primitive(*[operand(a) for a in arrays])
        bounds = np.cumsum([0, *sizes])
        return tuple(
            knp.reshape(
                knp.getitem(result, (Ellipsis, slice(int(lo), int(hi)))),
                (*np.shape(knp.unwrap(result))[:-1], *shape),
            )
            for lo, hi, shape in zip(bounds[:-1], bounds[1:], shapes, strict=True)
        )

    return call
