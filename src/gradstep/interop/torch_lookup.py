"""The preprocessing layers of numbers as PyTorch modules: IntegerLookup,
CategoryEncoding and Discretization (``to_torch``; imports torch).

Each computes what gradstep's layer computes, on tensors:

- ``Discretization``: ``torch.bucketize(x, boundaries, right=True)`` is the bin
  ``i`` with ``b[i-1] <= x < b[i]``, NumPy's ``digitize``.
- ``IntegerLookup``: the vocabulary sorted once (``sorted_tokens``, with
  ``token_index``, each sorted token's index); ``searchsorted`` finds a token's
  place, and the token is known where the token there equals it. Unknown
  tokens go to the OOV indices (``token mod num_oov_indices``, Keras's
  ``'floormod'``), the mask token to 0 (or, when encoded, to nothing);
  ``invert=True`` indexes the vocabulary instead.
- the encodings (``output_mode``): ``'int'`` the indices; ``'one_hot'``,
  ``'multi_hot'``, ``'count'`` (and ``'tf_idf'``: counts times the idf
  weights) as gradstep's ``encode``.

An index outside ``[0, depth)`` to encode, or an unknown token with
``num_oov_indices=0``, is a ``ValueError`` naming the layer, as in gradstep.
Layers of strings (``StringLookup``, ``Hashing``, ``TextVectorization``) have
no PyTorch counterpart: tensors hold no strings, and PyTorch has no FarmHash.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gradstep import config
from gradstep.interop.torch_module import refuse


def _dtype(name) -> torch.dtype:
    return torch.from_numpy(np.zeros((), dtype=np.dtype(name))).dtype


def encode(indices, output_mode: str, depth: int, dtype, label: str):
    """``indices`` (integers in ``[0, depth)``) encoded as gradstep encodes them."""
    if output_mode == "int":
        return indices.to(dtype)
    if indices.ndim == 0:
        indices = indices.reshape(1)
    outside = (indices < 0) | (indices >= depth)
    if bool(outside.any()):
        bad = indices[outside]
        raise ValueError(
            f"{label}: every index must be in [0, {depth}) for output_mode={output_mode!r}, "
            f"received {int(bad[0])} ({bad.numel()} values out of range)"
        )
    if output_mode == "one_hot" and indices.ndim > 1 and indices.shape[-1] == 1:
        indices = indices.squeeze(-1)
    one_hot = F.one_hot(indices.long(), depth)
    if output_mode == "one_hot":
        return one_hot.to(dtype)
    axis = 1 if indices.ndim > 1 else 0
    if output_mode == "multi_hot":
        return one_hot.amax(dim=axis).to(dtype)
    return one_hot.sum(dim=axis).to(dtype)


def _whole_numbers(x, label: str, what: str):
    """``x`` as int64, for integer tensors or floats that are whole numbers."""
    if x.is_floating_point():
        if not bool(torch.all(x == torch.floor(x))):
            raise ValueError(f"{label}: {what} must be whole numbers")
        return x.long()
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"{label} needs integers, received a tensor of dtype {x.dtype}")
    return x.long()


class Discretization(nn.Module):
    def __init__(self, boundaries, output_mode, depth, dtype, label):
        super().__init__()
        self.register_buffer("boundaries", torch.tensor(boundaries, dtype=torch.float32))
        self.output_mode = output_mode
        self.depth = depth
        self.dtype = dtype
        self.label = label

    def forward(self, x):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{self.label} needs numbers, received a tensor of dtype {x.dtype}")
        indices = torch.bucketize(x.to(torch.float32), self.boundaries, right=True)
        return encode(indices, self.output_mode, self.depth, self.dtype, self.label)


class CategoryEncoding(nn.Module):
    def __init__(self, output_mode, depth, dtype, label):
        super().__init__()
        self.output_mode = output_mode
        self.depth = depth
        self.dtype = dtype
        self.label = label

    def forward(self, x):
        indices = _whole_numbers(x, self.label, "categories")
        return encode(indices, self.output_mode, self.depth, self.dtype, self.label)


def _label(layer) -> str:
    return f"{type(layer).__name__} layer {layer.name!r}"


def _lookup_depth(layer) -> int:
    """The width of an encoded lookup: every index, or ``max_tokens`` when padded."""
    return layer.max_tokens if layer.pad_to_max_tokens else layer.vocabulary_size()


class IntegerLookup(nn.Module):
    """Integer tokens to their indices (see the module's docstring): the mask
    token's index 0 (in ``'int'`` mode, when there is one), then the OOV
    indices, then the vocabulary's."""

    def __init__(self, layer):
        super().__init__()
        self.label = _label(layer)
        tokens = np.asarray(layer.get_vocabulary(include_special_tokens=False), dtype=np.int64)
        self.oov_start = int(layer.mask_token is not None and layer.output_mode == "int")
        token_start = self.oov_start + layer.num_oov_indices
        order = np.argsort(tokens, kind="stable")
        self.register_buffer("sorted_tokens", torch.from_numpy(tokens[order]))
        self.register_buffer("token_index", torch.from_numpy(order.astype(np.int64) + token_start))
        self.num_oov_indices = layer.num_oov_indices
        self.mask_token = layer.mask_token
        self.output_mode = layer.output_mode
        self.depth = _lookup_depth(layer)
        self.dtype = _dtype(config.floatx())
        idf = layer.idf_weights if layer.output_mode == "tf_idf" else None
        self.register_buffer("idf_weights", None if idf is None else torch.from_numpy(idf))

    def forward(self, x):
        tokens = _whole_numbers(x, self.label, "tokens")
        indices = self._indices_of(tokens)
        if self.output_mode == "int":
            return indices
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        valid = indices >= 0  # the mask token encodes as zeros
        if bool(valid.all()):
            output = encode(indices, mode, self.depth, self.dtype, self.label)
        else:
            widened = torch.where(valid, indices, self.depth)
            output = encode(widened, mode, self.depth + 1, self.dtype, self.label)
            output = output[..., : self.depth]
        return output if self.idf_weights is None else output * self.idf_weights

    def _indices_of(self, tokens):
        if self.sorted_tokens.numel():
            place = torch.searchsorted(self.sorted_tokens, tokens)
            place = place.clamp(max=self.sorted_tokens.numel() - 1)
            known = self.sorted_tokens[place] == tokens
            indices = torch.where(known, self.token_index[place], -1)
        else:
            known = torch.zeros_like(tokens, dtype=torch.bool)
            indices = torch.full_like(tokens, -1)
        unknown = ~known
        is_mask = None
        if self.mask_token is not None:
            is_mask = tokens == self.mask_token
            unknown = unknown & ~is_mask
        if bool(unknown.any()):
            if self.num_oov_indices == 0:
                found = torch.unique(tokens[unknown]).tolist()
                raise ValueError(
                    f"{self.label}: when num_oov_indices=0 all inputs should be in vocabulary, "
                    f"found OOV values {found}, consider setting num_oov_indices=1"
                )
            oov = torch.remainder(tokens, self.num_oov_indices) if self.num_oov_indices > 1 else 0
            indices = torch.where(unknown, self.oov_start + oov, indices)
        if is_mask is not None:
            indices = torch.where(is_mask, 0 if self.output_mode == "int" else -1, indices)
        return indices


class InvertedIntegerLookup(nn.Module):
    """``IntegerLookup(invert=True)``: indices to their tokens (the OOV token
    for an index past the vocabulary, the mask token for index 0 with one)."""

    def __init__(self, layer):
        super().__init__()
        self.label = _label(layer)
        vocabulary = layer.get_vocabulary()
        self.register_buffer("table", torch.tensor(vocabulary, dtype=torch.int64))
        self.oov_token = layer.oov_token
        self.mask_token = layer.mask_token

    def forward(self, x):
        if x.is_floating_point() and not bool(torch.all(x == torch.floor(x))):
            raise TypeError(
                f"{self.label} with invert=True needs integer indices, received dtype {x.dtype}"
            )
        indices = x.long()
        known = (indices >= 0) & (indices < self.table.numel())
        output = torch.where(known, self.table[torch.where(known, indices, 0)], self.oov_token)
        if self.mask_token is not None:
            output = torch.where(indices == 0, self.mask_token, output)
        return output


def _discretization(layer, weights):
    if layer.bin_boundaries is None:
        raise refuse(layer, "it has no bin boundaries: adapt() it or give bin_boundaries")
    output_dtype = "int32" if layer.output_mode == "int" else (layer.dtype or config.floatx())
    return Discretization(
        layer.bin_boundaries,
        layer.output_mode,
        len(layer.bin_boundaries) + 1,
        _dtype(output_dtype),
        _label(layer),
    )


def _category_encoding(layer, weights):
    dtype = _dtype(layer.dtype or config.floatx())
    return CategoryEncoding(layer.output_mode, layer.num_tokens, dtype, _label(layer))


def _integer_lookup(layer, weights):
    vocabulary = layer.get_vocabulary()
    if any(token is None for token in vocabulary):
        raise refuse(layer, "its vocabulary holds None (an OOV or mask token of None)")
    if layer.invert:
        return InvertedIntegerLookup(layer)
    if layer.num_oov_indices > 1 and layer.oov_method == "farmhash":
        raise refuse(
            layer,
            "oov_method='farmhash' hashes the tokens' text with FarmHash, which PyTorch does "
            "not have; use oov_method='floormod'",
        )
    if layer.output_mode != "int" and not layer.get_vocabulary(include_special_tokens=False):
        raise refuse(layer, "it has no vocabulary: call adapt() or set one")
    return IntegerLookup(layer)


#: Why the layers of strings are refused.
REFUSED = {
    "StringLookup": "it looks up strings, and PyTorch tensors hold no strings; look the "
    "strings up before the module and give it the indices",
    "Hashing": "it hashes each value's text with FarmHash (SipHash with a salt), as "
    "TensorFlow does, and PyTorch has neither; hash the inputs before the module",
    "TextVectorization": "it splits and looks up strings, and PyTorch tensors hold no strings",
}

CONVERTERS = {
    "Discretization": _discretization,
    "CategoryEncoding": _category_encoding,
    "IntegerLookup": _integer_lookup,
}
