"""ONNX converters of the image preprocessing layers (Resizing, CenterCrop,
and the random augmentations, identities at inference) and of Discretization,
CategoryEncoding, IntegerLookup and StringLookup (a string input, through
ai.onnx.ml's LabelEncoder; both inverted too). Hashing (FarmHash64 or
SipHash, which ONNX lacks) is refused by name, as are the lookups' hashed
OOV indices."""

from __future__ import annotations

import numpy as np

from gradstep.export.onnx_graph import (
    ML_DOMAIN,
    ONNX_TYPES,
    STRING,
    Call,
    OnnxGraph,
    converts,
    file_dtype,
    refuse,
)
from gradstep.layers.image_preprocessing import (
    CenterCrop,
    RandomContrast,
    RandomFlip,
    Resizing,
    interpolation_matrix,
)
from gradstep.layers.preprocessing_lookup import (
    CategoryEncoding,
    Discretization,
    Hashing,
    IntegerLookup,
    StringLookup,
)

FLOAT, INT64 = ONNX_TYPES["float32"], ONNX_TYPES["int64"]


@converts(RandomFlip, RandomContrast)
def augmentation(graph: OnnxGraph, call: Call) -> str:
    """Augmentations change images in training only."""
    return call.x


def _image_axes(rank: int, data_format: str) -> tuple[int, int]:
    return (rank - 2, rank - 1) if data_format == "channels_first" else (rank - 3, rank - 2)


def _aspect_window(height, width, target_h, target_w, crop: bool, pad: bool):
    """Keras's aspect-ratio step (as Resizing computes it): ``(top, left,
    crop_h, crop_w, pad_h, pad_w)``."""
    if crop:
        crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
        crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
        return int((height - crop_h) / 2), int((width - crop_w) / 2), crop_h, crop_w, 0, 0
    if pad:
        pad_h = int((max(height, int(float(width * target_h) / target_w)) - height) / 2)
        pad_w = int((max(width, int(float(height * target_w) / target_h)) - width) / 2)
        return 0, 0, height, width, pad_h, pad_w
    return 0, 0, height, width, 0, 0


def _along(graph: OnnxGraph, x: str, matrix: np.ndarray, axis: int, rank: int) -> str:
    """``matrix`` (out, in) applied along ``axis`` (Einsum)."""
    letters = "abcde"[:rank]
    result = letters[:axis] + "z" + letters[axis + 1 :]
    equation = f"z{letters[axis]},{letters}->{result}"
    return graph.op("Einsum", graph.constant(matrix), x, equation=equation)


def resize(graph: OnnxGraph, call: Call, options: dict) -> str:
    """Resizing's forward: the aspect-ratio crop or pad, then one
    interpolation matrix along the rows and one along the columns (integer
    images rounded and saturated back to their type, as Keras does)."""
    h_axis, w_axis = _image_axes(call.rank, options["data_format"])
    height, width = call.shape[h_axis], call.shape[w_axis]
    if height is None or width is None:
        raise refuse(call.layer, "the images' height and width must be known")
    top, left, crop_h, crop_w, pad_h, pad_w = _aspect_window(
        height,
        width,
        options["height"],
        options["width"],
        options.get("crop_to_aspect_ratio", False),
        options.get("pad_to_aspect_ratio", False),
    )
    x = call.x
    integers = np.dtype(call.dtypes[0]).kind in "iu"
    if integers:
        x = graph.op("Cast", x, to=FLOAT)
    if (crop_h, crop_w) != (height, width):
        x = graph.slice(x, [top, left], [top + crop_h, left + crop_w], [h_axis, w_axis])
    if pad_h or pad_w:
        pads = [0] * (2 * call.rank)
        pads[h_axis] = pads[h_axis + call.rank] = pad_h
        pads[w_axis] = pads[w_axis + call.rank] = pad_w
        fill = graph.scalar(options.get("fill_value", 0.0))
        x = graph.op("Pad", x, graph.ints(pads, "pads"), fill, mode="constant")
    method = options.get("interpolation", "bilinear")
    rows = interpolation_matrix(crop_h + 2 * pad_h, options["height"], method)
    columns = interpolation_matrix(crop_w + 2 * pad_w, options["width"], method)
    x = _along(graph, _along(graph, x, rows, h_axis, call.rank), columns, w_axis, call.rank)
    if integers:
        info = np.iinfo(np.dtype(call.dtypes[0]))
        x = graph.op("Clip", graph.op("Round", x), graph.scalar(info.min), graph.scalar(info.max))
    # The graph's dtype of the output (gradstep's symbolic tensors say float for the
    # rounded integer images and the bins, which NumPy keeps as integers).
    return graph.op("Cast", x, to=ONNX_TYPES[call.output_dtype])


@converts(Resizing)
def resizing(graph: OnnxGraph, call: Call) -> str:
    return resize(graph, call, call.layer.get_config())


@converts(CenterCrop)
def center_crop(graph: OnnxGraph, call: Call) -> str:
    """The centered window; an image smaller than the target is resized to it
    (bilinear, after a crop to the target's aspect ratio), as in Keras."""
    config = call.layer.get_config()
    h_axis, w_axis = _image_axes(call.rank, config["data_format"])
    height, width = call.shape[h_axis], call.shape[w_axis]
    if height is None or width is None:
        raise refuse(call.layer, "the images' height and width must be known")
    if height < config["height"] or width < config["width"]:
        return resize(graph, call, {**config, "crop_to_aspect_ratio": True})
    top, left = (height - config["height"]) // 2, (width - config["width"]) // 2
    ends = [top + config["height"], left + config["width"]]
    return graph.slice(call.x, [top, left], ends, [h_axis, w_axis])


def encode(graph: OnnxGraph, layer, indices: str, shape: tuple, mode: str, depth: int) -> str:
    """Keras's encodings of integer ``indices`` (int64) of ``shape``:
    ``'one_hot'`` (a trailing axis of 1 replaced), ``'multi_hot'`` and
    ``'count'`` (over axis 1), as floats."""
    rank = len(shape)
    if mode == "one_hot" and rank > 1 and shape[-1] == 1:
        indices = graph.op("Squeeze", indices, graph.ints([-1]))
        rank -= 1
    positions = graph.constant(np.arange(depth, dtype=np.int64), "positions")
    unsqueezed = graph.op("Unsqueeze", indices, graph.ints([-1]))
    one_hot = graph.op("Cast", graph.op("Equal", unsqueezed, positions), to=FLOAT)
    if mode == "one_hot":
        return one_hot
    axis = 1 if rank > 1 else 0
    if mode == "multi_hot":
        return graph.reduce("ReduceMax", one_hot, [axis], keepdims=False)
    if mode == "count":
        return graph.reduce("ReduceSum", one_hot, [axis], keepdims=False)
    raise refuse(layer, f"output_mode={mode!r} is not exported")


@converts(CategoryEncoding)
def category_encoding(graph: OnnxGraph, call: Call) -> str:
    config = call.layer.get_config()
    indices = graph.op("Cast", call.x, to=INT64)
    return encode(
        graph, call.layer, indices, call.shape, config["output_mode"], config["num_tokens"]
    )


@converts(Discretization)
def discretization(graph: OnnxGraph, call: Call) -> str:
    """The bin of each entry, ``np.digitize``: how many boundaries are <= it."""
    config = call.layer.get_config()
    boundaries = config["bin_boundaries"]
    if boundaries is None:
        raise refuse(call.layer, "it has no bin_boundaries (adapt it first)")
    x = call.x
    if np.dtype(call.dtypes[0]).kind != "f":
        x = graph.op("Cast", x, to=FLOAT)
    reached = graph.op(
        "GreaterOrEqual",
        graph.op("Unsqueeze", x, graph.ints([-1])),
        graph.constant(np.asarray(boundaries, np.float32), "boundaries"),
    )
    indices = graph.reduce("ReduceSum", graph.op("Cast", reached, to=INT64), [-1], keepdims=False)
    mode = config["output_mode"]
    if mode == "int":
        return graph.op("Cast", indices, to=ONNX_TYPES[call.output_dtype])
    return encode(graph, call.layer, indices, call.shape, mode, len(boundaries) + 1)


#: The index of a token out of the vocabulary when ``num_oov_indices=0``.
#: ``predict`` raises an error for such a token, which an ONNX model cannot
#: do; the file gives -1 (the default of ONNX's LabelEncoder), which the
#: other output modes encode as zeros (as the mask token).
UNKNOWN_INDEX = -1


def _check_lookup(layer, strings: bool) -> dict:
    """The lookup's config, after refusing what the export cannot write."""
    config = layer.get_config()
    if not layer.get_vocabulary(include_special_tokens=False):
        raise refuse(layer, "it has no vocabulary (adapt it or set one first)")
    if config["invert"]:
        if config["oov_token"] is None:
            raise refuse(layer, "with invert=True and oov_token=None an unknown index has no token")
        return config
    if config["num_oov_indices"] > 1 and (strings or config.get("oov_method") == "farmhash"):
        raise refuse(
            layer,
            f"with num_oov_indices={config['num_oov_indices']} an unknown token's index is "
            "its FarmHash64 (SipHash with a salt), which ONNX has no op for; use "
            "num_oov_indices=1 (or, for integers, oov_method='floormod')",
        )
    return config


def _lookup_output(graph: OnnxGraph, call: Call, config: dict, indices: str) -> str:
    """The lookup's output from the int64 ``indices`` (the mask token's
    already 0 in ``'int'`` mode, -1 in the others): cast in ``'int'`` mode,
    else encoded (``'tf_idf'``: counts times ``idf_weights``)."""
    mode = config["output_mode"]
    if mode == "int":
        return graph.op("Cast", indices, to=ONNX_TYPES[call.output_dtype])
    depth = call.output_shape[-1]
    counted = "count" if mode == "tf_idf" else mode
    encoded = encode(graph, call.layer, indices, call.shape, counted, depth)
    if mode == "tf_idf":
        weights = np.asarray(call.layer.idf_weights, np.float32)[:depth]
        encoded = graph.op("Mul", encoded, graph.constant(weights, "idf_weights"))
    return encoded


@converts(IntegerLookup)
def integer_lookup(graph: OnnxGraph, call: Call) -> str:
    """Each token's index: 0 for ``mask_token`` (in ``'int'`` mode), then the
    out-of-vocabulary indices (an unknown token's is ``token % num_oov_indices``
    past them; with none, ``UNKNOWN_INDEX``), then the vocabulary in order;
    encoded in the other modes (the mask token as zeros). ``invert=True``:
    each index's token, ``oov_token`` for an index past the vocabulary."""
    layer = call.layer
    config = _check_lookup(layer, strings=False)
    if config["invert"]:
        return _integer_tokens(graph, call, config)
    oov_count = config["num_oov_indices"]
    vocabulary = np.asarray(layer.get_vocabulary(include_special_tokens=False), np.int64)
    start = layer.vocabulary_size() - len(vocabulary)  # the first token's index
    oov_start = start - oov_count
    tokens = graph.op("Cast", call.x, to=INT64)
    matches = graph.op(
        "Equal",
        graph.op("Unsqueeze", tokens, graph.ints([-1])),
        graph.constant(vocabulary, "vocabulary"),
    )
    matched = graph.op("Cast", matches, to=FLOAT)
    found = graph.op("Cast", graph.reduce("ReduceMax", matched, [-1], keepdims=False), to=9)
    position = graph.op("ArgMax", matched, axis=-1, keepdims=0)
    known = graph.op("Add", position, graph.constant(np.int64(start), "start"))
    unknown = graph.constant(np.int64(oov_start if oov_count else UNKNOWN_INDEX), "oov_start")
    if oov_count > 1:
        unknown = graph.op(
            "Add", unknown, graph.op("Mod", tokens, graph.constant(np.int64(oov_count)))
        )
    indices = graph.op("Where", found, known, unknown)
    if config["mask_token"] is not None:
        is_mask = graph.op("Equal", tokens, graph.constant(np.int64(config["mask_token"])))
        mask_index = graph.constant(np.int64(0 if config["output_mode"] == "int" else -1))
        indices = graph.op("Where", is_mask, mask_index, indices)
    return _lookup_output(graph, call, config, indices)


def _integer_tokens(graph: OnnxGraph, call: Call, config: dict) -> str:
    """IntegerLookup's ``invert=True``: the vocabulary (the mask and OOV
    tokens first) gathered at each index, ``oov_token`` past its ends."""
    table = np.asarray(call.layer.get_vocabulary(), np.int64)
    indices = graph.op("Cast", call.x, to=INT64)
    last = len(table) - 1
    known = graph.op(
        "And",
        graph.op("GreaterOrEqual", indices, graph.constant(np.int64(0))),
        graph.op("LessOrEqual", indices, graph.constant(np.int64(last))),
    )
    inside = graph.op("Clip", indices, graph.constant(np.int64(0)), graph.constant(np.int64(last)))
    tokens = graph.op("Gather", graph.constant(table, "vocabulary"), inside, axis=0)
    tokens = graph.op("Where", known, tokens, graph.constant(np.int64(config["oov_token"])))
    return graph.op("Cast", tokens, to=ONNX_TYPES[call.output_dtype])


@converts(StringLookup)
def string_lookup(graph: OnnxGraph, call: Call) -> str:
    """A string tensor's indices through ai.onnx.ml's LabelEncoder: each
    vocabulary token to its index, ``mask_token`` to 0 (in ``'int'`` mode;
    -1, encoded as zeros, in the others), any other string to the OOV index
    (``UNKNOWN_INDEX`` with ``num_oov_indices=0``); encoded in the other
    modes. ``invert=True``: each index's string (``oov_token`` past the
    vocabulary), a string tensor."""
    layer = call.layer
    config = _check_lookup(layer, strings=True)
    if config["invert"]:
        strings = graph.op(
            "LabelEncoder",
            graph.op("Cast", call.x, to=INT64),
            domain=ML_DOMAIN,
            keys_int64s=list(range(layer.vocabulary_size())),
            values_strings=[str(token) for token in layer.get_vocabulary()],
            default_string=str(config["oov_token"]),
        )
        graph.value_dtypes[strings] = STRING
        return strings
    if file_dtype(call.dtypes[0]) != STRING:
        raise refuse(layer, f"its input must be strings, received {call.dtypes[0]}")
    tokens = [str(token) for token in layer.get_vocabulary(include_special_tokens=False)]
    start = layer.vocabulary_size() - len(tokens)
    indices = list(range(start, start + len(tokens)))
    if config["mask_token"] is not None:
        tokens.append(str(config["mask_token"]))
        indices.append(0 if config["output_mode"] == "int" else -1)
    oov_count = config["num_oov_indices"]
    found = graph.op(
        "LabelEncoder",
        call.x,
        domain=ML_DOMAIN,
        keys_strings=tokens,
        values_int64s=indices,
        default_int64=start - oov_count if oov_count else UNKNOWN_INDEX,
    )
    return _lookup_output(graph, call, config, found)


@converts(Hashing)
def hashing(graph: OnnxGraph, call: Call) -> str:
    raise refuse(
        call.layer,
        "its bins are FarmHash64 of each value's text (SipHash with a salt), which ONNX has "
        "no op for; hash the values before the model, or use StringLookup or IntegerLookup "
        "with a vocabulary",
    )
