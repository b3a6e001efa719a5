"""``model.export(path, format="onnx")``: the model's inference pass as an ONNX file.

The export walks the model's graph in the order it runs and asks each
layer's converter (the registry in ``onnx_graph``; the converters in
``onnx_layers``, ``onnx_recurrent``, ``onnx_attention``, ``onnx_ops`` and
``onnx_preprocessing``) for the ONNX nodes that compute the layer's output.
A model used as a layer is written inline. What the file computes is
``model.predict``: the inference pass (dropout and noise are identities,
BatchNormalization uses its moving statistics), in float32. Masks are
computed in the file too: ``Embedding(mask_zero=True)`` and ``Masking``
write theirs, the layers that keep a mask pass it on, and the layers that
use one get it in ``Call.masks``. A call with several outputs (a recurrent
layer's states, attention scores, a model used as a layer) gets one ONNX
value per output from its converter.

- Opset 18 by default (``opset_version=`` picks a later one): every op the
  export writes has, as the export uses it, the form it has in opset 18
  (the reductions take their axes as an input since 18), so 18 is the
  oldest opset that has them all, and the file runs on ONNX Runtime 1.14
  and later. Later opsets add nothing the export needs. StringLookup's
  LabelEncoder comes from the ``ai.onnx.ml`` domain, imported at version 3
  (opset 18's companion) when a model has one.
- The batch axis is dynamic (named ``batch``), as is every size the model
  leaves unknown; the inputs are named after the model's ``Input`` layers and
  the outputs after the layers that produce them.
- A layer that ONNX cannot express, or that has no converter, stops the
  export with a ``ValueError`` naming it (its name and class) and why.

Only NumPy is needed to build the graph; ``onnx`` writes and checks the file
(the ``interop`` extra: ``pip install 'gradstep[interop]'``).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from gradstep.export import (
    onnx_attention,
    onnx_layers,
    onnx_ops,
    onnx_preprocessing,
    onnx_recurrent,
)
from gradstep.export.onnx_graph import (
    MASK_FREE_AT_INFERENCE,
    MASK_MAKERS,
    TAKES_MASKS,
    Call,
    OnnxGraph,
    convert_layer,
    file_dtype,
    refuse,
)
from gradstep.layers.base import Layer
from gradstep.layers.recurrent import RNN, Bidirectional

#: The opset written unless ``opset_version`` says otherwise (why: the module's docstring).
DEFAULT_OPSET = 18
#: Converter modules: imported for their registrations.
CONVERTER_MODULES = (onnx_layers, onnx_recurrent, onnx_attention, onnx_ops, onnx_preprocessing)


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None):
    """Write ``model``'s inference pass to ``filepath`` as an ONNX model.

    Args:
        model: a built gradstep model (Sequential, functional or subclassed).
        filepath: where to write the ``.onnx`` file.
        verbose: print where the file went (Keras's message). Defaults to True.
        input_signature: must be None: the inputs' shapes and dtypes are the
            model's own.
        opset_version: the ONNX opset, from 18 to the newest that the
            installed ``onnx`` knows. Defaults to 18.

    Raises:
        ValueError: the model is not built, an argument is out of range, or a
            layer cannot be exported (the message names the layer).
        ImportError: ``onnx`` is not installed.
    """
    opset = _check_opset(opset_version)
    if input_signature is not None:
        raise ValueError(
            "gradstep's ONNX export takes the inputs' shapes and dtypes from the model; "
            f"input_signature must be None, received {input_signature!r}"
        )
    onnx_model = to_onnx(model, opset)
    import onnx

    onnx.save_model(onnx_model, os.fspath(filepath))
    if verbose is None or verbose:
        print(f"Saved artifact at '{os.fspath(filepath)}'.")


def to_onnx(model, opset: int = DEFAULT_OPSET):
    """The ``onnx.ModelProto`` of ``model``'s inference pass (see ``export_onnx``)."""
    if not getattr(model, "built", False):
        raise ValueError(
            f"Model {model.name!r} is not built: call it on data, or build() it, before exporting"
        )
    graph = model.graph(False)
    onnx_graph = OnnxGraph()
    input_names = [onnx_graph.name(tensor.name) for tensor in graph.inputs]
    output_values, _ = convert_graph(onnx_graph, graph, input_names)
    inputs = [
        (name, file_dtype(tensor.dtype), _dims(tensor.shape, position))
        for position, (name, tensor) in enumerate(zip(input_names, graph.inputs, strict=True))
    ]
    outputs = []
    for tensor, value in zip(graph.outputs, output_values, strict=True):
        name = onnx_graph.name(tensor.node.layer.name)
        onnx_graph.op_named("Identity", value, name)
        dtype = onnx_graph.value_dtypes.get(value, file_dtype(tensor.dtype))
        outputs.append((name, dtype, _output_dims(tensor.shape, name)))
    return onnx_graph.to_model(inputs, outputs, opset, model.name)


def convert_graph(onnx_graph: OnnxGraph, graph, input_values: list[str], input_masks=None):
    """Add the nodes of gradstep ``graph`` whose inputs are the ONNX values
    ``input_values`` (with masks ``input_masks``, None: unmasked); the ONNX
    values of its outputs, and their masks."""
    values = {id(tensor): name for tensor, name in zip(graph.inputs, input_values, strict=True)}
    masks = dict(zip(map(id, graph.inputs), input_masks or [None] * len(graph.inputs), strict=True))
    for step in graph.steps:
        node = step.node
        tensors = node.input_tensors
        call = Call(
            layer=node.layer,
            inputs=[values[id(t)] for t in tensors],
            shapes=[t.shape for t in tensors],
            dtypes=[onnx_graph.value_dtypes.get(values[id(t)], t.dtype) for t in tensors],
            output_shape=node.output.shape,
            output_dtype=file_dtype(node.output.dtype),
            masks=tuple(masks[id(t)] for t in tensors),
        )
        _check_exportable(node, call.masks)
        if node.several_outputs:
            outputs, output_masks = _convert_several(onnx_graph, call, node)
            for tensor, value, mask in zip(node.outputs, outputs, output_masks, strict=True):
                values[id(tensor)], masks[id(tensor)] = value, mask
            continue
        values[id(node.output)], masks[id(node.output)] = convert_call(onnx_graph, call, node)
    outputs = graph.outputs
    return [values[id(t)] for t in outputs], [masks[id(t)] for t in outputs]


def convert_call(onnx_graph: OnnxGraph, call: Call, node) -> tuple[str, object]:
    """The ONNX value of one layer call (a model used as a layer inline, any
    other layer through its converter), and its output's mask."""
    layer = call.layer
    if layer.holds_layers and hasattr(layer, "graph"):
        values, masks = convert_graph(onnx_graph, layer.graph(False), call.inputs, call.masks)
        return values[0], masks[0]
    return convert_layer(onnx_graph, call), _output_mask(onnx_graph, call, node.output, 0)


def _convert_several(onnx_graph: OnnxGraph, call: Call, node):
    """The ONNX values of a call with several outputs, and their masks: a
    model used as a layer inline; another layer (``return_state=True``,
    ``return_attention_scores=True``, ``Bidirectional(merge_mode=None)``)
    through its converter, which returns one value per output."""
    layer = call.layer
    if layer.holds_layers and hasattr(layer, "graph"):
        return convert_graph(onnx_graph, layer.graph(False), call.inputs, call.masks)
    values = convert_layer(onnx_graph, call)
    if isinstance(values, str) or len(values) != len(node.outputs):
        raise refuse(
            layer,
            f"it is called with {len(node.outputs)} outputs and its converter writes "
            f"{1 if isinstance(values, str) else len(values)}",
        )
    masks = [
        _output_mask(onnx_graph, call, tensor, index) for index, tensor in enumerate(node.outputs)
    ]
    return list(values), masks


class UnknownMask(NamedTuple):
    """The mask of a tensor made by a layer whose mask the export does not compute."""

    layer: object


#: The recurrent wrappers whose mask is their input's when they return sequences.
SEQUENCE_LAYERS = (RNN, Bidirectional)


def _output_mask(onnx_graph: OnnxGraph, call: Call, tensor, index: int):
    """The ONNX value of the mask of ``tensor``, output ``index`` of the call
    (None: unmasked): made by Embedding or Masking, or the input's passed on
    by a layer that keeps it (Keras's default ``compute_mask``; the sequences
    of recurrent layers that return them, the first outputs of attention);
    else an ``UnknownMask``, refused if a layer uses it."""
    if tensor.mask_shape is None:
        return None
    layer = call.layer
    unknown = [m for m in call.masks if isinstance(m, UnknownMask)]
    if unknown:
        return unknown[0]
    if isinstance(layer, SEQUENCE_LAYERS) and call.masks:
        return call.masks[0]  # the sequences' (the states given after them have none)
    maker = MASK_MAKERS.get(type(layer))
    if maker is not None and index == 0:
        return maker(onnx_graph, call)
    keeps = type(layer).compute_mask is Layer.compute_mask
    if keeps and len(call.masks) == 1 and index == 0:
        return call.masks[0]
    return UnknownMask(layer)


def _check_exportable(node, masks) -> None:
    """Refuse what the file could not compute as ``predict`` does: a call
    forced into training mode, and a mask that changes a layer's output
    where the export does not write it."""
    layer = node.layer
    if node.training:
        raise refuse(
            layer,
            "it is called with training=True; the export writes the inference pass only",
        )
    masked = any(t.mask_shape is not None for t in node.input_tensors)
    if not masked or not layer.forward_takes_mask or type(layer) in MASK_FREE_AT_INFERENCE:
        return
    if type(layer) not in TAKES_MASKS:
        raise refuse(
            layer,
            "its input carries a mask (from Embedding(mask_zero=True) or Masking) that "
            "changes its output; the export does not write masks for this layer",
        )
    for mask in masks:
        if isinstance(mask, UnknownMask):
            raise refuse(
                layer,
                f"it uses the mask of its input, which layer {mask.layer.name!r} "
                f"({type(mask.layer).__name__}) makes in a way the export does not write",
            )


def _check_opset(opset_version) -> int:
    if opset_version is None:
        return DEFAULT_OPSET
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset_version, bool) or not isinstance(opset_version, int | np.integer):
        raise TypeError(f"opset_version must be an integer, received {opset_version!r}")
    if not DEFAULT_OPSET <= opset_version <= newest:
        raise ValueError(
            f"opset_version must be from {DEFAULT_OPSET} to {newest} (the newest the installed "
            f"onnx knows), received {opset_version}"
        )
    return int(opset_version)


def _dims(shape, position: int) -> list:
    """The ONNX dims of input ``position``: unknown sizes named as Keras names them."""
    return [
        size if size is not None else ("batch" if axis == 0 else f"dim_{position}_{axis}")
        for axis, size in enumerate(shape)
    ]


def _output_dims(shape, name: str) -> list:
    return [
        size if size is not None else ("batch" if axis == 0 else f"{name}_dim_{axis}")
        for axis, size in enumerate(shape)
    ]
