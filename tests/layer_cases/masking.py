"""Keras's masks through the merge layers: two Embedding branches of the same
tokens (so their masks, when both are masked, are the same), merged, then a
layer that mixes the steps (Flatten, which drops the mask) or one that keeps
them apart (Dense, after which the mask reaches the loss).

Multiply, Maximum and Minimum change values under masks (a masked entry
counts as 1 in a product and as the other input in a maximum): with Flatten
after them every entry reaches the loss, so the goldens see those values.

Then the layers whose numbers a mask changes: GlobalAveragePooling1D (the
mean over the unmasked steps) and BatchNormalization in training (the
moments over the unmasked entries), and layers that drop the mask (Keras
warns), after which every step counts. Their tokens come from a vocabulary
of 3 (seed 1): each sample has 1 to 3 padded steps of 5, none has only
padding (a mean over no steps is refused).
"""

MASKED = ("Embedding", {"input_dim": 6, "output_dim": 3, "mask_zero": True})
UNMASKED = ("Embedding", {"input_dim": 6, "output_dim": 3})
FLATTEN_DENSE = [("Flatten", {}), ("Dense", {"units": 2})]
SEQUENCE = {"input_shape": (5,), "inputs": {"tokens": 6}}


def _merge_case(name, merge, first, second, after, **extra):
    return {
        "name": name,
        "branches": [[first], [second]],
        "merge": merge,
        "layers": after,
        **SEQUENCE,
        **extra,
    }


CASES = [
    _merge_case("multiply_both_masked", ("Multiply", {}), MASKED, MASKED, FLATTEN_DENSE),
    _merge_case("multiply_first_masked", ("Multiply", {}), MASKED, UNMASKED, FLATTEN_DENSE),
    _merge_case("maximum_both_masked", ("Maximum", {}), MASKED, MASKED, FLATTEN_DENSE),
    _merge_case("maximum_second_masked", ("Maximum", {}), UNMASKED, MASKED, FLATTEN_DENSE),
    _merge_case("minimum_first_masked", ("Minimum", {}), MASKED, UNMASKED, FLATTEN_DENSE),
    _merge_case(
        "add_both_masked_to_the_loss", ("Add", {}), MASKED, MASKED, [("Dense", {"units": 2})]
    ),
    _merge_case(
        "subtract_one_masked_drops_it",
        ("Subtract", {}),
        MASKED,
        UNMASKED,
        [("Dense", {"units": 2})],
    ),
    _merge_case(
        "concatenate_features_one_masked",
        ("Concatenate", {}),
        MASKED,
        UNMASKED,
        [("Dense", {"units": 2})],
        metrics=["mae"],
    ),
    _merge_case(
        "concatenate_steps_both_masked",
        ("Concatenate", {"axis": 1}),
        MASKED,
        MASKED,
        [("Dense", {"units": 2})],
        metrics=["mae"],
    ),
]


POOLED = {"input_shape": (5,), "inputs": {"tokens": 3}, "seed": 1}
AVERAGE = ("GlobalAveragePooling1D", {})
DENSE = ("Dense", {"units": 2})


def _masked_case(name, layers, **extra):
    return {"name": name, "layers": [MASKED, *layers], **POOLED, **extra}


CASES += [
    _masked_case("global_average_over_the_unmasked_steps", [AVERAGE, DENSE], metrics=["mae"]),
    _masked_case(
        "global_average_keepdims", [("GlobalAveragePooling1D", {"keepdims": True}), DENSE]
    ),
    {
        # channels_first averages over the embedding's 5 columns: the token
        # mask (batch, 5) then masks columns, as Keras broadcasts it.
        "name": "global_average_channels_first",
        "layers": [
            ("Embedding", {"input_dim": 6, "output_dim": 5, "mask_zero": True}),
            ("GlobalAveragePooling1D", {"data_format": "channels_first"}),
            DENSE,
        ],
        **POOLED,
    },
    _masked_case(
        "batch_norm_masked_moments_then_global_average",
        [("BatchNormalization", {"momentum": 0.5}), AVERAGE, DENSE],
    ),
    _masked_case(
        "batch_norm_masked_moments_to_the_loss",
        [("BatchNormalization", {"momentum": 0.5, "epsilon": 0.01}), DENSE],
        metrics=["mae"],
    ),
    _masked_case(
        "batch_norm_renorm_masked_moments",
        [
            (
                "BatchNormalization",
                {
                    "momentum": 0.5,
                    "renorm": True,
                    "renorm_clipping": {"rmax": 1.5, "rmin": 0.7, "dmax": 0.5},
                    "renorm_momentum": 0.6,
                },
            ),
            AVERAGE,
            DENSE,
        ],
    ),
    # Every token is 0: the moments are 0 (Keras divides by the count + 1e-7).
    _masked_case(
        "batch_norm_every_entry_masked",
        [("BatchNormalization", {"momentum": 0.5}), DENSE],
        inputs={"tokens": 1},
    ),
    _masked_case("global_max_pooling_drops_the_mask", [("GlobalMaxPooling1D", {}), DENSE]),
    _masked_case("average_pooling_drops_the_mask", [("AveragePooling1D", {"pool_size": 2}), DENSE]),
    _masked_case("zero_padding_drops_the_mask", [("ZeroPadding1D", {"padding": 1}), DENSE]),
]
