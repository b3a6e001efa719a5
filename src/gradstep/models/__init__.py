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


def model_from_json(json_string, custom_objects=None):
    """The model ``model.to_json()`` described: new weights, not compiled."""
    from gradstep import saving

    return saving.model_from_json(json_string, custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, **kwargs):
    """A new model with ``model``'s architecture (its config, layer names
    included) and new weights drawn from their initializers; not compiled.
    A Sequential or functional model, or a registered model class of yours.

    gradstep does not take Keras's ``input_tensors``, ``clone_function``,
    ``call_function`` or ``recursive``: each raises a ValueError."""
    from gradstep import saving

    unsupported = {
        "input_tensors": input_tensors,
        "clone_function": clone_function,
        "call_function": call_function,
        **kwargs,
    }
    given = sorted(name for name, value in unsupported.items() if value not in (None, False))
    if given:
        raise ValueError(
            f"clone_model: gradstep does not support {', '.join(given)}; it clones the whole "
            "model from its config"
        )
    if not isinstance(model, Model):
        raise TypeError(f"clone_model expects a gradstep Model, received {model!r}")
    return saving.model_from_config(
        {"class_name": type(model).__name__, "config": model.get_config()}
    )


__all__ = [
    "Functional",
    "Model",
    "Sequential",
    "clone_model",
    "load_model",
    "model_from_json",
]
