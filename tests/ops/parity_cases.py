"""Ops called the same way in Keras and gradstep (``call(ops_module)``), on
small fixed float32 inputs; tools/make_keras_ops_fixtures.py records Keras's
outputs and test_keras_parity.py replays them."""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(7)
A = _rng.uniform(-1, 1, (3, 4)).astype("float32")
B = _rng.uniform(-1, 1, (3, 4)).astype("float32")
P = _rng.uniform(0.5, 1.5, (3, 4)).astype("float32")
V = _rng.uniform(-1, 1, (5,)).astype("float32")
SQ = (_rng.uniform(-1, 1, (3, 3)) + 3 * np.eye(3)).astype("float32")
SPD = (SQ @ SQ.T).astype("float32")
IMG = _rng.uniform(-1, 1, (1, 5, 5, 2)).astype("float32")
K2 = _rng.uniform(-1, 1, (3, 3, 2, 3)).astype("float32")
SEQ = _rng.uniform(-1, 1, (2, 6, 2)).astype("float32")
K1 = _rng.uniform(-1, 1, (3, 2, 4)).astype("float32")
DW = _rng.uniform(-1, 1, (2, 2, 2, 2)).astype("float32")
PW = _rng.uniform(-1, 1, (1, 1, 4, 3)).astype("float32")
KT = _rng.uniform(-1, 1, (3, 3, 3, 2)).astype("float32")
Q = _rng.uniform(-1, 1, (1, 3, 2, 4)).astype("float32")
INT = np.array([3, 1, 4, 1, 5, 9], dtype="int32")
LABELS = np.array([0, 3, 1], dtype="int32")
ONEHOT = np.eye(4, dtype="float32")[LABELS]
PROB = (P / P.sum(-1, keepdims=True)).astype("float32")

_UNARY = (
    "abs absolute arccos arcsin arctan arctanh cbrt ceil conj conjugate copy cos cosh "
    "deg2rad exp exp2 expm1 fabs floor imag isfinite isinf isnan isneginf isposinf "
    "isreal negative rad2deg real round sign signbit sin sinc sinh square tan tanh trunc "
    "celu elu gelu glu hard_shrink hard_sigmoid hard_silu hard_swish hard_tanh leaky_relu "
    "log_sigmoid log_softmax relu relu6 selu sigmoid silu soft_shrink softmax softplus "
    "softsign sparse_plus sparse_sigmoid sparsemax squareplus swish tanh_shrink erf erfinv "
    "normalize ravel transpose flip fliplr flipud rot90 tril triu diagonal trace "
    "argmax argmin argsort sort cumsum cumprod sum mean var std max min amax amin prod "
    "ptp median all any count_nonzero nonzero logsumexp nansum nanmean nanmax nanmin nanstd "
    "nanvar nanprod nancumsum nancumprod nanmedian nanargmax nanargmin zeros_like ones_like "
    "empty_like size ndim"
).split()
_POSITIVE = "log log1p log2 log10 sqrt rsqrt reciprocal erfc".split()
_BINARY = (
    "add subtract multiply divide true_divide divide_no_nan maximum minimum fmax fmin "
    "arctan2 logaddexp logaddexp2 hypot fmod mod floor_divide equal not_equal greater "
    "greater_equal less less_equal logical_and logical_or logical_xor isclose heaviside "
    "nextafter"
).split()

PARITY_CASES = (
    [(f"{n}", lambda ops, n=n: getattr(ops, n)(A)) for n in _UNARY]
    + [(f"{n}", lambda ops, n=n: getattr(ops, n)(P)) for n in _POSITIVE]
    + [(f"{n}", lambda ops, n=n: getattr(ops, n)(A, B)) for n in _BINARY]
    + [
        ("arccosh", lambda ops: ops.arccosh(P + 1)),
        ("power", lambda ops: ops.power(P, A)),
        ("matmul", lambda ops: ops.matmul(A, B.T)),
        ("dot", lambda ops: ops.dot(A, B.T)),
        ("tensordot", lambda ops: ops.tensordot(A, B, axes=([1], [1]))),
        ("einsum", lambda ops: ops.einsum("ij,kj->ik", A, B)),
        ("inner", lambda ops: ops.inner(A, B)),
        ("outer", lambda ops: ops.outer(V, V)),
        ("vdot", lambda ops: ops.vdot(A, B)),
        ("kron", lambda ops: ops.kron(SQ, A[:2, :2])),
        ("cross", lambda ops: ops.cross(A[:, :3], B[:, :3])),
        ("where", lambda ops: ops.where(A > 0, A, B)),
        ("clip", lambda ops: ops.clip(A, -0.5, 0.5)),
        ("mean axis", lambda ops: ops.mean(A, axis=0, keepdims=True)),
        ("mean int", lambda ops: ops.mean(INT)),
        ("sum axes", lambda ops: ops.sum(A, axis=(0, 1))),
        ("var axis", lambda ops: ops.var(A, axis=1)),
        ("max axis", lambda ops: ops.max(A, axis=-1)),
        ("quantile", lambda ops: ops.quantile(A, [0.25, 0.5], axis=1)),
        ("percentile", lambda ops: ops.percentile(V, 30.0)),
        ("nanquantile", lambda ops: ops.nanquantile(A, 0.3, axis=0)),
        ("nanpercentile", lambda ops: ops.nanpercentile(A, 70.0)),
        ("average", lambda ops: ops.average(A, axis=1, weights=P[0])),
        ("norm", lambda ops: ops.norm(A)),
        ("norm vector", lambda ops: ops.norm(A, ord=1, axis=-1)),
        ("norm matrix 2", lambda ops: ops.norm(SQ, ord=2)),
        ("norm nuc", lambda ops: ops.norm(SQ, ord="nuc")),
        ("norm inf", lambda ops: ops.norm(SQ, ord=np.inf)),
        ("reshape", lambda ops: ops.reshape(A, (2, -1))),
        ("swapaxes", lambda ops: ops.swapaxes(IMG, 1, 3)),
        ("moveaxis", lambda ops: ops.moveaxis(IMG, 0, -1)),
        ("expand_dims", lambda ops: ops.expand_dims(A, 1)),
        ("squeeze", lambda ops: ops.squeeze(A[:, None])),
        ("broadcast_to", lambda ops: ops.broadcast_to(V, (2, 5))),
        ("tile", lambda ops: ops.tile(V, (2, 2))),
        ("repeat", lambda ops: ops.repeat(A, 2, axis=0)),
        ("concatenate", lambda ops: ops.concatenate([A, B], axis=1)),
        ("append", lambda ops: ops.append(A, B)),
        ("stack", lambda ops: ops.stack([A, B], axis=1)),
        ("hstack", lambda ops: ops.hstack([A, B])),
        ("vstack", lambda ops: ops.vstack([A, B])),
        ("dstack", lambda ops: ops.dstack([A, B])),
        ("split", lambda ops: ops.split(A, 2, axis=1)),
        ("array_split", lambda ops: ops.array_split(V, 3)),
        ("hsplit", lambda ops: ops.hsplit(A, 2)),
        ("vsplit", lambda ops: ops.vsplit(A, [1])),
        ("dsplit", lambda ops: ops.dsplit(IMG[:, :, :4], 2)),
        ("unstack", lambda ops: ops.unstack(A, axis=1)),
        ("take", lambda ops: ops.take(A, np.array([2, 0]), axis=1)),
        ("take_along_axis", lambda ops: ops.take_along_axis(A, np.array([[0], [2], [1]]), 1)),
        ("pad", lambda ops: ops.pad(A, ((1, 0), (0, 2)))),
        ("roll", lambda ops: ops.roll(A, 2, axis=1)),
        ("diag", lambda ops: ops.diag(V, 1)),
        ("diagflat", lambda ops: ops.diagflat(SQ[:2, :2])),
        ("diff", lambda ops: ops.diff(A, n=2)),
        ("vander", lambda ops: ops.vander(V, 3)),
        ("meshgrid", lambda ops: ops.meshgrid(V, V[:3])),
        ("select", lambda ops: ops.select([A > 0.5, A < -0.5], [A, B], 0.0)),
        ("trapezoid", lambda ops: ops.trapezoid(A)),
        ("corrcoef", lambda ops: ops.corrcoef(A)),
        ("correlate", lambda ops: ops.correlate(V, V[:3], mode="same")),
        ("cdist", lambda ops: ops.cdist(A, B)),
        ("digitize", lambda ops: ops.digitize(V, np.array([-0.5, 0.0, 0.5], "float32"))),
        ("searchsorted", lambda ops: ops.searchsorted(np.sort(V), A)),
        ("bincount", lambda ops: ops.bincount(INT)),
        ("isin", lambda ops: ops.isin(INT, np.array([1, 9]))),
        ("bitwise_and", lambda ops: ops.bitwise_and(INT, 3)),
        ("bitwise_or", lambda ops: ops.bitwise_or(INT, 3)),
        ("bitwise_xor", lambda ops: ops.bitwise_xor(INT, 3)),
        ("bitwise_invert", lambda ops: ops.bitwise_invert(INT)),
        ("left_shift", lambda ops: ops.left_shift(INT, 2)),
        ("right_shift", lambda ops: ops.right_shift(INT, 1)),
        ("gcd", lambda ops: ops.gcd(INT, 6)),
        ("lcm", lambda ops: ops.lcm(INT, 4)),
        ("ldexp", lambda ops: ops.ldexp(V, np.array([1, 2, 0, -1, 3]))),
        ("unique", lambda ops: ops.unique(INT)),
        ("argpartition", lambda ops: ops.sort(ops.argpartition(V, 2)[:2])),
        ("unravel_index", lambda ops: ops.unravel_index(INT, (2, 5))),
        ("saturate_cast", lambda ops: ops.saturate_cast(A * 300, "uint8")),
        ("hamming", lambda ops: ops.hamming(5)),
        ("hanning", lambda ops: ops.hanning(5)),
        ("bartlett", lambda ops: ops.bartlett(5)),
        ("blackman", lambda ops: ops.blackman(5)),
        ("kaiser", lambda ops: ops.kaiser(5, 2.0)),
        ("geomspace", lambda ops: ops.geomspace(1.0, 8.0, 4)),
        ("one_hot", lambda ops: ops.one_hot(LABELS, 4)),
        ("multi_hot", lambda ops: ops.multi_hot(np.array([[0, 2], [1, 3]]), 4)),
        ("threshold", lambda ops: ops.threshold(A, 0.1, -2.0)),
        ("gelu exact", lambda ops: ops.gelu(A, approximate=False)),
        ("moments", lambda ops: ops.moments(A, axes=[0])),
        (
            "batch_normalization",
            lambda ops: ops.batch_normalization(A, V[:4], P[0], -1, B[0], A[0]),
        ),
        ("layer_normalization", lambda ops: ops.layer_normalization(A, P[0], B[0])),
        ("rms_normalization", lambda ops: ops.rms_normalization(A, P[0])),
        ("psnr", lambda ops: ops.psnr(P, P + 0.1 * A, 2.0)),
        ("binary_crossentropy", lambda ops: ops.binary_crossentropy(ONEHOT, PROB)),
        ("binary_crossentropy logits", lambda ops: ops.binary_crossentropy(ONEHOT, A, True)),
        ("categorical_crossentropy", lambda ops: ops.categorical_crossentropy(ONEHOT, PROB)),
        (
            "categorical_crossentropy logits",
            lambda ops: ops.categorical_crossentropy(ONEHOT, A, True),
        ),
        (
            "sparse_categorical_crossentropy",
            lambda ops: ops.sparse_categorical_crossentropy(LABELS, A, True),
        ),
        (
            "dot_product_attention",
            lambda ops: ops.dot_product_attention(Q, Q * 0.5, Q, is_causal=True),
        ),
        ("space_to_depth", lambda ops: ops.space_to_depth(IMG[:, :4, :4], 2)),
        ("depth_to_space", lambda ops: ops.depth_to_space(np.tile(IMG, 2), 2)),
        ("unfold", lambda ops: ops.unfold(np.moveaxis(IMG, -1, 1), 2, stride=2, padding=1)),
        ("conv valid", lambda ops: ops.conv(IMG, K2)),
        ("conv same strided", lambda ops: ops.conv(IMG, K2, 2, "same")),
        ("conv dilated", lambda ops: ops.conv(IMG, K2, 1, "same", dilation_rate=2)),
        ("conv 1d", lambda ops: ops.conv(SEQ, K1, 1, "same")),
        ("conv groups", lambda ops: ops.conv(SEQ, K1[:, :1, :], 2, "valid")),
        (
            "conv channels_first",
            lambda ops: ops.conv(np.moveaxis(IMG, -1, 1), K2, 1, "valid", "channels_first"),
        ),
        ("depthwise_conv", lambda ops: ops.depthwise_conv(IMG, DW, 2, "same")),
        ("separable_conv", lambda ops: ops.separable_conv(IMG, DW, PW, 1, "valid")),
        ("conv_transpose valid", lambda ops: ops.conv_transpose(IMG, KT, 2)),
        ("conv_transpose same", lambda ops: ops.conv_transpose(IMG, KT, 2, "same")),
        ("conv_transpose output_padding", lambda ops: ops.conv_transpose(IMG, KT, 2, "same", 1)),
        (
            "conv_transpose 1d",
            lambda ops: ops.conv_transpose(SEQ, K1.transpose(0, 2, 1), 3, "valid"),
        ),
        ("max_pool", lambda ops: ops.max_pool(IMG, 2, 2)),
        ("max_pool same", lambda ops: ops.max_pool(IMG, 3, 2, "same")),
        ("average_pool", lambda ops: ops.average_pool(IMG, 2, 1)),
        ("average_pool same", lambda ops: ops.average_pool(IMG, 3, 2, "same")),
        ("average_pool 1d", lambda ops: ops.average_pool(SEQ, 2, 2, "same")),
        ("adaptive_max_pool", lambda ops: ops.adaptive_max_pool(IMG, (2, 3))),
        ("adaptive_average_pool", lambda ops: ops.adaptive_average_pool(IMG, 2)),
        ("segment_sum", lambda ops: ops.segment_sum(A, np.array([0, 2, 0]), 3)),
        ("segment_max", lambda ops: ops.segment_max(A, np.array([1, 1, 0]), 2)),
        ("top_k", lambda ops: ops.top_k(A, 2)),
        ("in_top_k", lambda ops: ops.in_top_k(LABELS, A, 2)),
        ("extract_sequences", lambda ops: ops.extract_sequences(A, 2, 1)),
        ("fft", lambda ops: ops.fft((A, B))),
        ("fft2", lambda ops: ops.fft2((A, B))),
        ("ifft2", lambda ops: ops.ifft2((A, B))),
        ("rfft", lambda ops: ops.rfft(A, 6)),
        ("irfft", lambda ops: ops.irfft((A, B))),
        ("irfft length", lambda ops: ops.irfft((A, B), 5)),
        ("logdet", lambda ops: ops.logdet(SPD)),
        ("inv", lambda ops: ops.inv(SQ)),
        ("det", lambda ops: ops.det(SQ)),
        ("slogdet", lambda ops: ops.slogdet(SQ)),
        ("solve", lambda ops: ops.solve(SQ, A[:, :2])),
        ("solve_triangular", lambda ops: ops.solve_triangular(SQ, A[:, :2], lower=True)),
        ("cholesky", lambda ops: ops.cholesky(SPD)),
        ("cholesky upper", lambda ops: ops.cholesky(SPD, upper=True)),
        ("cholesky_inverse", lambda ops: ops.cholesky_inverse(np.tril(SQ))),
        ("svd values", lambda ops: ops.svd(A, compute_uv=False)),
        ("eigh values", lambda ops: ops.eigh(SPD)[0]),
        ("pinv", lambda ops: ops.pinv(A)),
        ("lstsq", lambda ops: ops.lstsq(SQ, A[:, :2])),
        ("matrix_rank", lambda ops: ops.matrix_rank(A)),
        ("linalg.norm", lambda ops: ops.linalg.norm(A, axis=0)),
        ("cast", lambda ops: ops.cast(A * 10, "int32")),
        ("convert_to_tensor", lambda ops: ops.convert_to_tensor([1.5, 2.0])),
        ("slice", lambda ops: ops.slice(A, (1, 1), (2, 2))),
        ("slice_update", lambda ops: ops.slice_update(A, (1, 1), B[:2, :2])),
        ("scatter", lambda ops: ops.scatter(np.array([[0, 1], [2, 0]]), V[:2], (3, 2))),
        ("scatter_update", lambda ops: ops.scatter_update(A, np.array([[0, 1]]), V[:1])),
        ("switch", lambda ops: ops.switch(1, [ops.exp, ops.sin], A)),
        ("associative_scan", lambda ops: ops.associative_scan(ops.add, V)),
        ("zeros", lambda ops: ops.zeros((2, 3))),
        ("ones", lambda ops: ops.ones((2,))),
        ("full", lambda ops: ops.full((2,), 3.0)),
        ("eye", lambda ops: ops.eye(3, 4, 1)),
        ("identity", lambda ops: ops.identity(2)),
        ("tri", lambda ops: ops.tri(3)),
        ("arange", lambda ops: ops.arange(1, 7, 2)),
        ("linspace", lambda ops: ops.linspace(0.0, 1.0, 5)),
        ("logspace", lambda ops: ops.logspace(0.0, 1.0, 3)),
    ]
)
