"""A gradstep model and its optimizer in PyTorch, and a PyTorch ``nn.Sequential``
in gradstep. Torch is imported when one of these functions is called, never
when gradstep is imported (``pip install 'gradstep[interop]'``)."""

from __future__ import annotations


def to_torch(model):
    """The model as a ``torch.nn.Module`` that gives its outputs to float32 round-off.

    The module takes the model's inputs in gradstep's layouts (channels last
    where the layers are; one tensor per input, or a list), runs the graph's
    layers in gradstep's order, and returns the output (a list for a model
    with several). Masks (``Embedding(mask_zero=True)``, ``Masking``) flow
    from layer to layer as in gradstep. It is returned in ``eval()`` mode, as ``predict`` runs:
    call ``module.train()`` to train it (dropout then draws PyTorch's noise
    and batch normalization uses the batch's statistics). Each trained weight
    is one ``nn.Parameter`` in PyTorch's layout (``Dense``'s kernel
    transposed, convolution kernels channels-first, ...); see
    ``gradstep.interop.torch_module`` for every conversion.

    Args:
        model: a built gradstep model (Sequential, functional or subclassed).

    Returns:
        A ``gradstep.interop.torch_module.GradstepModule``; its
        ``gradstep_links`` pair each parameter with the model's weight.

    Calls with several outputs (``return_state=True``,
    ``return_attention_scores=True``) give the same outputs; ``initial_state``
    in the graph is followed; a stateful recurrent layer keeps its states
    between calls of the module until ``module.reset_states()``; the cells'
    dropout draws one mask per sequence in training, as Keras's.
    ``IntegerLookup``, ``CategoryEncoding`` and ``Discretization`` become
    tensor operations.

    Raises:
        ValueError: naming the layer, for a layer PyTorch cannot run as gradstep
            does (a ``Lambda``, a layer of strings such as ``StringLookup`` or
            ``Hashing``, a recurrent cell written outside gradstep, batch
            renormalization, ...), or for a model that is not built.
    """
    from gradstep.interop import torch_convert

    return torch_convert.convert_model(model).eval()


def to_torch_optimizer(model, module):
    """The ``torch.optim`` optimizer that continues the model's training in ``module``.

    ``module`` is ``to_torch(model)``. The optimizer is PyTorch's counterpart
    of the model's (``model.optimizer``), over the module's parameters, with
    the same hyperparameters and its state: the step count and every slot
    (Adam's moments, SGD's momentum buffer, ...) in each parameter's PyTorch
    layout. When the gradstep optimizer follows PyTorch's conventions
    (``epsilon_placement="pytorch"``, ``momentum_form="pytorch"``), training
    on in PyTorch gives the weights that training on in gradstep gives, to
    float32 round-off.

    Where the two will differ, a
    ``gradstep.interop.differences.TorchConversionWarning`` says why: an
    epsilon placed as Keras places it, Keras's momentum form (its velocity is
    divided by the learning rate to make PyTorch's buffer), a learning-rate
    schedule (PyTorch gets this step's rate; attach a ``torch.optim.lr_scheduler``),
    clipping, EMA, gradient accumulation, weight decay PyTorch only couples to
    the gradient, and weight penalties or constraints (part of gradstep's loss
    and step, not of an optimizer).

    Adafactor becomes ``torch.optim.Adafactor`` (its factored second moment in
    PyTorch's axes) and LBFGS ``torch.optim.LBFGS`` with its curvature memory.

    Raises:
        ValueError: for an optimizer PyTorch does not have (Lion, Lamb, Ftrl,
            ScheduleFreeAdamW) or has with another rule (Muon), for Adafactor
            on a weight whose layout PyTorch factors over other axes (a
            convolution kernel, a GRU's two biases), or a model that is not
            compiled.
    """
    from gradstep.interop import torch_optimizer

    return torch_optimizer.convert_optimizer(model, module)


def from_torch(module, input_shape):
    """A gradstep ``Sequential`` model computing what the PyTorch ``nn.Sequential``
    ``module`` computes, to float32 round-off, with its weights.

    Layers both libraries have convert: ``Linear``, ``Conv1d``/``Conv2d``,
    ``MaxPool``/``AvgPool`` 1d/2d, ``BatchNorm1d``/``2d``, ``LayerNorm``,
    ``GroupNorm``, ``Embedding``, ``Flatten``, ``Dropout``, the activations
    (``ReLU``, ``Tanh``, ``Sigmoid``, ``GELU``, ``SiLU``, ``ELU``, ``LeakyReLU``,
    ``Softmax``, ...), ``nn.Identity``. PyTorch's convolutions and pools are
    channels-first, so the gradstep model takes the same channels-first arrays
    (its layers have ``data_format="channels_first"``).

    Args:
        module: a ``torch.nn.Sequential``.
        input_shape: one sample's shape, as PyTorch takes it (without the batch axis).

    Raises:
        ValueError: naming the module's layer that has no gradstep counterpart.
    """
    from gradstep.interop import torch_import

    return torch_import.convert_sequential(module, input_shape)
