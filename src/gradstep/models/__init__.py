"""Models: layers wired into a graph and trained with one loop.

``Model`` (``model.py``) holds compile, fit, evaluate, predict and the train
step for every model; ``Sequential`` (``sequential.py``) builds a chain,
``Functional`` (``functional.py``) a graph from ``Model(inputs, outputs)``,
and a subclass of ``Model`` wires its layers in ``call``. ``compile.py``
matches losses and metrics to the outputs; ``data.py`` checks the arrays.
"""

from gradstep.models.functional import Functional
from gradstep.models.model import Model
from gradstep.models.sequential import Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002 (Keras's name)
    """The model saved by ``model.save(filepath)``, compiled (with its optimizer's
    state) unless ``compile=False``; ``custom_objects`` (name -> function or
    class) gives back a loss or metric of your own. Loading runs no code from
    the file; a bad file raises a ValueError naming the problem (see the
    file-format page)."""
    from gradstep import saving

    return saving.load_model(
        filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
    )


__all__ = ["Functional", "Model", "Sequential", "load_model"]
