"""L-BFGS: a quasi-Newton method for small full-batch problems."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradstep.optimizers.base import OPTIMIZERS, Optimizer
from gradstep.validation import check_positive_int

#: ``closure()`` evaluates the loss at the current weights and returns
#: ``(loss, gradients)``, one gradient per weight array.
Closure = Callable[[], tuple[float, list[np.ndarray]]]


@OPTIMIZERS.register("lbfgs")
class LBFGS(Optimizer):
    r"""L-BFGS builds, from the last ``history_size`` steps ``s`` and gradient
    changes ``y``, an approximation of the inverse Hessian and steps along
    ``-H g``: nearly Newton's method, for the memory of a few gradients. Each
    ``step`` runs up to ``max_iter`` iterations and re-evaluates the loss, so
    it needs a closure, and is meant for full-batch training of small models
    (``fit`` gives it the whole data set as one batch).

    One iteration, with ``g`` the flat gradient of all the weights::

        q = -g
        for i = k-1 .. 0:  a_i = rho_i s_i.q;  q <- q - a_i y_i     (rho_i = 1 / y_i.s_i)
        d = H0 q,  H0 = y.s / y.y of the newest pair (1 on the first iteration)
        for i = 0 .. k-1:  b = rho_i y_i.d;  d <- d + (a_i - b) s_i
        t = learning_rate  (min(1, 1 / |g|_1) * learning_rate on the very first)
        w <- w + t d,      or t from a strong-Wolfe line search
        keep (s = t d, y = g_new - g) when y.s > 1e-10

    and the iterations stop at ``max_iter``, after ``max_eval`` evaluations,
    when ``max|g| <= tolerance_grad``, or when the step or the change of the
    loss falls below ``tolerance_change``. This is PyTorch's
    ``torch.optim.LBFGS`` (itself from minFunc), step for step: the same
    arguments (``learning_rate`` is its ``lr``) give the same weights.
    Reference: Nocedal (1980), "Updating Quasi-Newton Matrices with Limited
    Storage"; Liu and Nocedal (1989); Nocedal and Wright (2006), "Numerical
    Optimization", Algorithms 7.4 and 3.5-3.6 for the line search. Keras has
    no L-BFGS; scikit-learn's ``MLPClassifier(solver='lbfgs')`` uses SciPy's.

    Clipping, weight decay, EMA and gradient accumulation do not apply, and
    the loss must be deterministic between evaluations (no dropout).

    Args:
        learning_rate: the step length ``t``. Defaults to 1.0.
        max_iter: iterations per ``step``. Defaults to 20.
        max_eval: loss evaluations per ``step``. Defaults to ``max_iter * 5 // 4``.
        tolerance_grad: stop when the largest gradient entry is at most this.
            Defaults to 1e-7.
        tolerance_change: stop when the step or the loss change is below this.
            Defaults to 1e-9.
        history_size: the number of ``(s, y)`` pairs kept. Defaults to 100.
        line_search_fn: None (fixed step) or ``'strong_wolfe'``. Defaults to None.
        name: the optimizer's name.
    """

    name = "lbfgs"
    requires_closure = True
    full_batch = True

    def __init__(
        self,
        learning_rate=1.0,
        max_iter=20,
        max_eval=None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
        history_size=100,
        line_search_fn=None,
        name=None,
    ):
        super().__init__(learning_rate=learning_rate, name=name)
        check_positive_int(max_iter, "max_iter")
        check_positive_int(history_size, "history_size")
        if max_eval is not None:
            check_positive_int(max_eval, "max_eval")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(
                f"line_search_fn must be None or 'strong_wolfe', received {line_search_fn!r}"
            )
        self.max_iter = max_iter
        self.max_eval = max_eval
        self.tolerance_grad = tolerance_grad
        self.tolerance_change = tolerance_change
        self.history_size = history_size
        self.line_search_fn = line_search_fn

    def build(self, variables):
        super().build(variables)
        self._memory = _Memory()

    def apply(self, grads, trainable_variables=None, *, variable_names=None):
        raise TypeError(
            "LBFGS re-evaluates the loss during a step: call step(closure), "
            "or train with model.fit (which passes the closure)"
        )

    # --- one step ---------------------------------------------------------------------
    def step(self, closure, variables=None, *, variable_names=None) -> float:
        """Run up to ``max_iter`` L-BFGS iterations on the weights (updated in
        place), re-evaluating ``closure`` at each trial point. As for every
        optimizer, ``closure()`` returns ``(loss, WeightGradient triples)``, or
        with ``variables`` given ``(loss, gradients)``, one per variable.
        Returns the loss before the step, as PyTorch does."""
        first = None
        if variables is None:
            loss, triples = closure()
            variables = [t.weight for t in triples]
            variable_names = [t.path for t in triples]
            first = (loss, [t.gradient for t in triples])
            closure = _gradients_only(closure)
        variables = list(variables)
        if not self.built or any(id(v) not in self._index_of for v in variables):
            self._build(variables, variable_names)
        params = _FlatView(variables)
        memory = self._memory
        learning_rate = self._current_learning_rate()
        max_eval = self.max_eval if self.max_eval is not None else self.max_iter * 5 // 4

        loss, flat_grad = params.evaluate(closure if first is None else lambda: first)
        first_loss = loss
        evaluations = 1
        memory.func_evals += 1
        self._iterations += 1
        if np.abs(flat_grad).max() <= self.tolerance_grad:
            return first_loss

        for iteration in range(1, self.max_iter + 1):
            memory.n_iter += 1
            if memory.n_iter == 1:
                memory.start(flat_grad)
            else:
                memory.remember(flat_grad, self.history_size)
                memory.direction = memory.two_loop(flat_grad)
            memory.prev_flat_grad = flat_grad.copy()
            memory.prev_loss = loss

            if memory.n_iter == 1:
                step_length = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * learning_rate
            else:
                step_length = learning_rate
            memory.step_length = step_length
            slope = float(flat_grad @ memory.direction)
            if slope > -self.tolerance_change:
                break

            if self.line_search_fn == "strong_wolfe":
                start, direction = params.values(), memory.direction
                loss, flat_grad, step_length, spent = _strong_wolfe(
                    lambda t, start=start, d=direction: params.evaluate_at(closure, start, t, d),
                    step_length,
                    memory.direction,
                    loss,
                    flat_grad,
                    slope,
                    tolerance_change=self.tolerance_change,
                    max_ls=max_eval - evaluations,
                )
                params.add(step_length, memory.direction)
                optimal = np.abs(flat_grad).max() <= self.tolerance_grad
            else:
                params.add(step_length, memory.direction)
                spent, optimal = 0, False
                if iteration != self.max_iter:
                    # no need to re-evaluate after the last iteration
                    loss, flat_grad = params.evaluate(closure)
                    optimal = np.abs(flat_grad).max() <= self.tolerance_grad
                    spent = 1
            memory.step_length = step_length
            evaluations += spent
            memory.func_evals += spent

            if iteration == self.max_iter or evaluations >= max_eval or optimal:
                break
            if np.abs(memory.direction * step_length).max() <= self.tolerance_change:
                break
            if abs(loss - memory.prev_loss) < self.tolerance_change:
                break
        return first_loss

    # --- state ------------------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """``iterations`` (calls of ``step``) and the curvature memory: ``n_iter``,
        ``func_evals``, and once an iteration has run ``direction``,
        ``step_length``, ``old_dirs`` and ``old_stps`` (``history x n``, the
        ``y`` and ``s`` pairs), ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``."""
        state = {"iterations": np.array(self._iterations, dtype=np.int64)}
        if self.built:
            state.update(self._memory.as_arrays())
        return state

    def set_state(self, state, variables, variable_names=None) -> None:
        variables = list(variables)
        size = sum(v.size for v in variables)
        memory = _Memory.from_arrays(state, size)
        self._build(variables, variable_names)
        self._memory = memory
        self._iterations = int(state["iterations"])

    def get_config(self):
        config = super().get_config()
        return {
            "name": config["name"],
            "learning_rate": config["learning_rate"],
            "max_iter": self.max_iter,
            "max_eval": self.max_eval,
            "tolerance_grad": self.tolerance_grad,
            "tolerance_change": self.tolerance_change,
            "history_size": self.history_size,
            "line_search_fn": self.line_search_fn,
        }


class _Memory:
    """The curvature pairs and the last direction, carried across ``step`` calls."""

    def __init__(self):
        self.n_iter = 0
        self.func_evals = 0
        self.direction = None
        self.step_length = None
        self.old_dirs: list[np.ndarray] = []
        self.old_stps: list[np.ndarray] = []
        self.ro: list[float] = []
        self.H_diag = 1.0
        self.prev_flat_grad = None
        self.prev_loss = None

    def start(self, flat_grad):
        self.direction = -flat_grad
        self.old_dirs, self.old_stps, self.ro = [], [], []
        self.H_diag = 1.0

    def remember(self, flat_grad, history_size):
        """Add the newest (s, y) pair when the curvature y.s is positive."""
        y = flat_grad - self.prev_flat_grad
        s = self.direction * self.step_length
        ys = float(y @ s)
        if ys > 1e-10:
            if len(self.old_dirs) == history_size:
                del self.old_dirs[0], self.old_stps[0], self.ro[0]
            self.old_dirs.append(y)
            self.old_stps.append(s)
            self.ro.append(1.0 / ys)
            self.H_diag = ys / float(y @ y)

    def two_loop(self, flat_grad):
        """``-H g`` by the two-loop recursion over the stored pairs."""
        count = len(self.old_dirs)
        alphas = [0.0] * count
        q = -flat_grad
        for i in range(count - 1, -1, -1):
            alphas[i] = float(self.old_stps[i] @ q) * self.ro[i]
            q -= alphas[i] * self.old_dirs[i]
        r = q * self.H_diag
        for i in range(count):
            beta = float(self.old_dirs[i] @ r) * self.ro[i]
            r += (alphas[i] - beta) * self.old_stps[i]
        return r

    def as_arrays(self) -> dict[str, np.ndarray]:
        state = {
            "n_iter": np.array(self.n_iter, dtype=np.int64),
            "func_evals": np.array(self.func_evals, dtype=np.int64),
        }
        if self.direction is None:
            return state
        state.update(
            direction=self.direction.copy(),
            step_length=np.array(self.step_length, dtype=np.float64),
            old_dirs=np.array(self.old_dirs, dtype=self.direction.dtype).reshape(
                len(self.old_dirs), self.direction.size
            ),
            old_stps=np.array(self.old_stps, dtype=self.direction.dtype).reshape(
                len(self.old_stps), self.direction.size
            ),
            ro=np.array(self.ro, dtype=np.float64),
            H_diag=np.array(self.H_diag, dtype=np.float64),
            prev_flat_grad=self.prev_flat_grad.copy(),
            prev_loss=np.array(self.prev_loss, dtype=np.float64),
        )
        return state

    @classmethod
    def from_arrays(cls, state, size: int) -> _Memory:
        """Check ``state`` (for weights of ``size`` entries) and rebuild the memory."""
        keys = {"iterations", "n_iter", "func_evals"}
        full = keys | {
            "direction",
            "step_length",
            "old_dirs",
            "old_stps",
            "ro",
            "H_diag",
            "prev_flat_grad",
            "prev_loss",
        }
        if set(state) not in (keys, full):
            raise ValueError(
                f"LBFGS state must hold {sorted(keys)} and, after an iteration, "
                f"{sorted(full - keys)}; received {sorted(state)}"
            )
        memory = cls()
        memory.n_iter, memory.func_evals = int(state["n_iter"]), int(state["func_evals"])
        if set(state) == keys:
            return memory
        pairs = np.asarray(state["old_dirs"]).shape[0]
        for name, shape in (
            ("direction", (size,)),
            ("prev_flat_grad", (size,)),
            ("old_dirs", (pairs, size)),
            ("old_stps", (pairs, size)),
            ("ro", (pairs,)),
        ):
            if np.asarray(state[name]).shape != shape:
                raise ValueError(
                    f"LBFGS state {name!r} must have shape {shape} for {size} weights, "
                    f"received shape {np.asarray(state[name]).shape}"
                )
        memory.direction = np.array(state["direction"])
        memory.step_length = float(state["step_length"])
        memory.old_dirs = [row.copy() for row in np.asarray(state["old_dirs"])]
        memory.old_stps = [row.copy() for row in np.asarray(state["old_stps"])]
        memory.ro = [float(value) for value in np.asarray(state["ro"])]
        memory.H_diag = float(state["H_diag"])
        memory.prev_flat_grad = np.array(state["prev_flat_grad"])
        memory.prev_loss = float(state["prev_loss"])
        return memory


def _gradients_only(closure):
    """A closure returning ``(loss, WeightGradient triples)`` as one returning
    ``(loss, gradients)``."""

    def evaluate():
        loss, triples = closure()
        return loss, [t.gradient for t in triples]

    return evaluate


class _FlatView:
    """The weights as one flat vector: gather gradients, add a step, restore."""

    def __init__(self, variables):
        self.variables = variables
        self.dtype = np.result_type(*variables)

    def values(self) -> list[np.ndarray]:
        return [v.copy() for v in self.variables]

    def evaluate(self, closure: Closure) -> tuple[float, np.ndarray]:
        loss, grads = closure()
        flat = np.concatenate(
            [
                np.zeros(v.size, self.dtype) if g is None else np.asarray(g, self.dtype).reshape(-1)
                for g, v in zip(grads, self.variables, strict=True)
            ]
        )
        return float(loss), flat

    def add(self, step_length: float, direction: np.ndarray) -> None:
        offset = 0
        for variable in self.variables:
            part = direction[offset : offset + variable.size].reshape(variable.shape)
            variable += step_length * part
            offset += variable.size

    def evaluate_at(self, closure, start, step_length, direction):
        """The loss and gradient at ``start + step_length * direction``; the
        weights are put back to ``start`` afterwards."""
        self.add(step_length, direction)
        loss, flat_grad = self.evaluate(closure)
        for variable, value in zip(self.variables, start, strict=True):
            variable[...] = value
        return loss, flat_grad


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through two points with their slopes, clamped
    to ``bounds`` (the bisection of the bounds when the cubic has none)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return float(min(max(min_pos, xmin_bound), xmax_bound))
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Find a step ``t`` along ``d`` that satisfies the strong Wolfe conditions:
    bracket, then zoom with cubic interpolation (as PyTorch and minFunc).
    Returns the loss, gradient and step found and the evaluations spent."""
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evaluations = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new, gtd_new
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        # the budget is spent: the zoom below does not run
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evaluations
