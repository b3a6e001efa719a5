"""The Keras 3 ops gradstep leaves out, each with the reason."""

from __future__ import annotations

_COMPLEX = (
    "needs complex-valued tensors; gradstep's arrays and slopes are real "
    "(the Fourier ops take and give (real, imag) pairs instead)"
)

#: Each ``keras.ops`` name that ``gradstep.ops`` does not offer, with the reason.
KERAS_OPS_LEFT_OUT: dict[str, str] = {
    "image": (
        "the keras.ops.image submodule (resize, affine_transform, crop/pad_images, "
        "rgb_to_grayscale, ...) is not ported yet; gradstep's image preprocessing layers "
        "are a separate issue"
    ),
    "ctc_loss": (
        "connectionist temporal classification needs a dynamic-programming kernel not written yet"
    ),
    "ctc_decode": (
        "connectionist temporal classification decoding (greedy/beam search) is not written yet"
    ),
    "custom_gradient": (
        "a user-defined slope needs a hook into the tape that gradstep does not expose; "
        "write the op with gradstep.ops.Primitive(name, forward, vjp) instead"
    ),
    "jvp": "forward-mode differentiation: gradstep's tape is reverse-mode only",
    "eig": "eigenvectors of non-symmetric matrices are complex; " + _COMPLEX,
    "lu_factor": (
        "a pivoted LU factorization needs SciPy's LAPACK wrapper; "
        "gradstep's core imports only NumPy"
    ),
    "polar": _COMPLEX,
    "view_as_complex": _COMPLEX,
    "view_as_real": _COMPLEX,
    "stft": "short-time Fourier transform not written yet (rfft and extract_sequences are there)",
    "istft": "inverse short-time Fourier transform not written yet (irfft is there)",
    "fold": "PyTorch's fold (the transpose of unfold) is not written yet",
    "rearrange": "einops-style pattern strings are not parsed; use reshape and transpose",
}
