"""Keras's masks through the merge layers: two Embedding branches of the same
tokens (so their masks, when both are masked, are the same), merged, then a
layer that mixes the steps (Flatten, which drops the mask) or one that keeps
them apart (Dense, after which the mask reaches the loss).

Multiply, Maximum and Minimum change values under masks (a masked entry
counts as 1 in a product and as the other input in a maximum): with Flatten
after them every entry reaches the loss, so the goldens see those values.
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
