"""Golden learning rates from the reference libraries, for every schedule.

Produces tests/fixtures/schedules.json:
  {"generated_by", "keras_version", "torch_version", "sklearn_version", "numpy_version",
   "float64_demotion_patched": true,
   "cases": [{"name", "class_name", "config", "reference", "steps", "values"}],
   "keras_configs": {class_name: the config Keras's own get_config() returns for a case}}

"config" is the gradstep schedule's configuration (the same argument names as
the reference); "values"[i] is the learning rate the reference uses for the
optimizer step "steps"[i] (0-based: the step counter before the update, as
Keras's ``optimizer.iterations``).

- Keras 3 schedules are called on each step with JAX in float64 (x64 on,
  floatx float64, and Keras's float64 -> float32 demotion switched off as in
  tools/make_keras_numerics_fixtures.py), so the values are genuine float64.
- PyTorch schedulers (LinearLR, OneCycleLR, CyclicLR, ChainedScheduler) drive a
  torch.optim.SGD on one dummy parameter: the value for step i is
  ``param_groups[0]['lr']`` read before the (i+1)-th ``optimizer.step()``,
  after i calls of ``scheduler.step()``; for a scheduler that cycles the
  momentum, "momentum_values"[i] is ``param_groups[0]['momentum']`` read then.
  A custom CyclicLR ``scale_fn`` is stored by name (SCALE_FUNCTIONS; the test
  has the same functions).
- "training" cases: torch.optim.Adam (float64) stepped 50 times through a fixed
  gradient sequence under OneCycleLR / CyclicLR with the momentum cycled
  (``betas[0]``), recording the parameters after the last step.
- scikit-learn's 'invscaling' is its own SGDOptimizer.iteration_ends(t):
  ``learning_rate_init / (t + 1) ** power_t`` for a time step t.

Run with the reference virtualenv (Keras 3 + JAX, torch, scikit-learn):
    KERAS_BACKEND=jax python tools/make_schedule_fixtures.py
"""

import json
import math
import os
import sys
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JSON_PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "schedules.json")
GENERATED_BY = "tools/make_schedule_fixtures.py"

STEPS = sorted(
    set(range(0, 26))
    | {30, 33, 49, 50, 51, 99, 100, 101, 149, 150, 199, 200, 250, 299, 300}
    | {301, 450, 699, 700, 701, 1000, 1499, 1500, 3000, 10000}
)

# (case name, Keras class name, arguments). Each exercises one option.
KERAS_CASES = [
    (
        "exponential",
        "ExponentialDecay",
        dict(initial_learning_rate=0.1, decay_steps=100, decay_rate=0.96),
    ),
    (
        "exponential_staircase",
        "ExponentialDecay",
        dict(initial_learning_rate=0.1, decay_steps=30, decay_rate=0.5, staircase=True),
    ),
    (
        "piecewise",
        "PiecewiseConstantDecay",
        dict(boundaries=[10, 50, 300], values=[1.0, 0.5, 0.1, 0.01]),
    ),
    (
        "inverse_time",
        "InverseTimeDecay",
        dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5),
    ),
    (
        "inverse_time_staircase",
        "InverseTimeDecay",
        dict(initial_learning_rate=0.1, decay_steps=25, decay_rate=2.0, staircase=True),
    ),
    ("polynomial", "PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=300)),
    (
        "polynomial_sqrt",
        "PolynomialDecay",
        dict(initial_learning_rate=0.1, decay_steps=300, end_learning_rate=0.01, power=0.5),
    ),
    (
        "polynomial_cycle",
        "PolynomialDecay",
        dict(
            initial_learning_rate=0.1,
            decay_steps=50,
            end_learning_rate=0.001,
            power=2.0,
            cycle=True,
        ),
    ),
    ("cosine", "CosineDecay", dict(initial_learning_rate=0.1, decay_steps=300)),
    ("cosine_alpha", "CosineDecay", dict(initial_learning_rate=0.1, decay_steps=300, alpha=0.1)),
    (
        "cosine_warmup",
        "CosineDecay",
        dict(initial_learning_rate=0.0, decay_steps=700, warmup_target=0.1, warmup_steps=50),
    ),
    (
        "cosine_warmup_alpha",
        "CosineDecay",
        dict(
            initial_learning_rate=0.001,
            decay_steps=200,
            alpha=0.05,
            warmup_target=0.01,
            warmup_steps=100,
        ),
    ),
    (
        "cosine_restarts",
        "CosineDecayRestarts",
        dict(initial_learning_rate=0.1, first_decay_steps=50),
    ),
    (
        "cosine_restarts_mul",
        "CosineDecayRestarts",
        dict(initial_learning_rate=0.1, first_decay_steps=100, t_mul=1.0, m_mul=0.5, alpha=0.01),
    ),
    (
        "cosine_restarts_t3",
        "CosineDecayRestarts",
        dict(initial_learning_rate=0.05, first_decay_steps=33, t_mul=3.0, m_mul=0.8, alpha=0.0),
    ),
]


# ---------------------------------------------------------------- Keras


def set_float64_demotion(enabled):
    """Keras's JAX/torch promotion rule (float64 -> float32) on or off."""
    from keras.src.backend.common import dtypes

    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float32" if enabled else "float64"


def keras_case(name, class_name, arguments):
    schedule = getattr(keras.optimizers.schedules, class_name)(**arguments)
    values = []
    for step in STEPS:
        value = schedule(np.int64(step))
        assert np.asarray(value).dtype == np.float64, (name, np.asarray(value).dtype)
        values.append(float(value))
    keras_config = schedule.get_config()
    config = {key: value for key, value in keras_config.items() if key != "name"}
    return {
        "name": name,
        "class_name": class_name,
        "config": config,
        "reference": f"keras.optimizers.schedules.{class_name}",
        "steps": STEPS,
        "values": values,
    }, keras_config


# ---------------------------------------------------------------- PyTorch


SCALE_FUNCTIONS = {
    "half_sine": lambda x: 0.5 * (1 + math.sin(x * math.pi / 2.0)),  # PyTorch's docstring
    "inverse_root": lambda x: 1 / math.sqrt(x + 1),
}


def torch_values(make_scheduler, base_lr, steps):
    """Learning rate and momentum used by each optimizer step 0..max(steps)."""
    parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([parameter], lr=base_lr, momentum=0.9)
    scheduler = make_scheduler(optimizer)
    rates, momenta = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "step() before optimizer.step()" cannot happen here
        for step in range(max(steps) + 1):
            rates.append(float(optimizer.param_groups[0]["lr"]))
            momenta.append(float(optimizer.param_groups[0]["momentum"]))
            if step < max(steps):
                optimizer.step()
                scheduler.step()
    return [rates[step] for step in steps], [momenta[step] for step in steps]


def torch_case(name, class_name, config, make_scheduler, base_lr, steps, reference):
    rates, momenta = torch_values(make_scheduler, base_lr, steps)
    case = {
        "name": name,
        "class_name": class_name,
        "config": config,
        "reference": reference,
        "steps": steps,
        "values": rates,
    }
    if config.get("cycle_momentum", class_name in ("OneCycle", "Cyclic")):
        case["momentum_values"] = momenta
    return case


def torch_arguments(config):
    """PyTorch's arguments for a gradstep config: scale_fn by name -> function."""
    arguments = dict(config)
    if isinstance(arguments.get("scale_fn"), str):
        arguments["scale_fn"] = SCALE_FUNCTIONS[arguments["scale_fn"]]
    return arguments


def torch_cases():
    sched = torch.optim.lr_scheduler
    upto = [s for s in STEPS if s <= 1000]
    one_cycle_steps = [s for s in STEPS if s <= 300]
    cases = [
        torch_case(
            "linear_warmup",
            "LinearWarmup",
            dict(learning_rate=0.1, warmup_steps=5),
            lambda opt: sched.LinearLR(opt),
            0.1,
            upto,
            "torch.optim.lr_scheduler.LinearLR",
        ),
        torch_case(
            "linear_warmup_factors",
            "LinearWarmup",
            dict(learning_rate=0.05, warmup_steps=20, start_factor=0.01, end_factor=0.5),
            lambda opt: sched.LinearLR(opt, start_factor=0.01, end_factor=0.5, total_iters=20),
            0.05,
            upto,
            "torch.optim.lr_scheduler.LinearLR",
        ),
        torch_case(
            "linear_warmup_then_exponential",
            "LinearWarmup",
            dict(
                learning_rate={
                    "class_name": "ExponentialDecay",
                    "config": dict(
                        initial_learning_rate=0.1, decay_steps=1, decay_rate=0.99, staircase=False
                    ),
                },
                warmup_steps=10,
                start_factor=0.1,
            ),
            lambda opt: sched.ChainedScheduler(
                [
                    sched.LinearLR(opt, start_factor=0.1, total_iters=10),
                    sched.ExponentialLR(opt, gamma=0.99),
                ]
            ),
            0.1,
            [s for s in STEPS if s <= 300],
            "torch.optim.lr_scheduler.ChainedScheduler([LinearLR, ExponentialLR])",
        ),
    ]
    one_cycle = [
        ("one_cycle", dict(max_lr=0.1, total_steps=300)),
        (
            "one_cycle_epochs_linear",
            dict(
                max_lr=0.01,
                epochs=10,
                steps_per_epoch=30,
                pct_start=0.25,
                anneal_strategy="linear",
                base_momentum=0.8,
                max_momentum=0.9,
                div_factor=10.0,
                final_div_factor=100.0,
            ),
        ),
        (
            "one_cycle_three_phase",
            dict(max_lr=1.0, total_steps=300, pct_start=0.4, three_phase=True),
        ),
        ("one_cycle_no_momentum", dict(max_lr=0.1, total_steps=300, cycle_momentum=False)),
    ]
    for name, config in one_cycle:
        cases.append(
            torch_case(
                name,
                "OneCycle",
                config,
                lambda opt, config=config: sched.OneCycleLR(opt, **config),
                0.1,
                one_cycle_steps,
                "torch.optim.lr_scheduler.OneCycleLR",
            )
        )
    cyclic = [
        ("cyclic_triangular", dict(base_lr=0.001, max_lr=0.1, step_size_up=20)),
        (
            "cyclic_triangular_asymmetric",
            dict(
                base_lr=0.01,
                max_lr=0.05,
                step_size_up=10,
                step_size_down=30,
                base_momentum=0.7,
                max_momentum=0.95,
            ),
        ),
        (
            "cyclic_triangular2",
            dict(base_lr=0.001, max_lr=0.1, step_size_up=25, mode="triangular2"),
        ),
        (
            "cyclic_exp_range",
            dict(base_lr=0.001, max_lr=0.1, step_size_up=25, mode="exp_range", gamma=0.99),
        ),
        (
            "cyclic_scale_fn_cycle",
            dict(base_lr=0.001, max_lr=0.1, step_size_up=15, scale_fn="half_sine"),
        ),
        (
            "cyclic_scale_fn_iterations",
            dict(
                base_lr=0.001,
                max_lr=0.1,
                step_size_up=15,
                scale_fn="inverse_root",
                scale_mode="iterations",
            ),
        ),
        (
            "cyclic_no_momentum",
            dict(base_lr=0.001, max_lr=0.1, step_size_up=20, cycle_momentum=False),
        ),
    ]
    for name, config in cyclic:
        cases.append(
            torch_case(
                name,
                "Cyclic",
                config,
                lambda opt, config=config: sched.CyclicLR(opt, **torch_arguments(config)),
                config["base_lr"],
                upto,
                "torch.optim.lr_scheduler.CyclicLR",
            )
        )
    return cases


# ---------------------------------------------------------------- training

TRAINING_STEPS = 50


def gradient_sequence(seed=0, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    start = rng.normal(size=shape)
    return start, [rng.normal(size=shape) for _ in range(TRAINING_STEPS)]


def torch_training_case(name, class_name, config, make_scheduler, adam_arguments):
    """Adam under a momentum-cycling scheduler: the parameters after 50 steps."""
    start, gradients = gradient_sequence()
    parameter = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
    optimizer = torch.optim.Adam([parameter], **adam_arguments)
    scheduler = make_scheduler(optimizer)
    for gradient in gradients:
        parameter.grad = torch.tensor(gradient, dtype=torch.float64)
        optimizer.step()
        scheduler.step()
    return {
        "name": name,
        "class_name": class_name,
        "config": config,
        "optimizer": {"name": "Adam", "torch_arguments": adam_arguments},
        "start": start.tolist(),
        "gradients": [g.tolist() for g in gradients],
        "final": parameter.detach().numpy().tolist(),
    }


def training_cases():
    sched = torch.optim.lr_scheduler
    one_cycle = dict(max_lr=0.05, total_steps=TRAINING_STEPS, pct_start=0.4)
    cyclic = dict(base_lr=0.001, max_lr=0.05, step_size_up=10, mode="triangular2")
    adam = {"lr": 0.05, "betas": [0.9, 0.999], "eps": 1e-8}
    return [
        torch_training_case(
            "adam_one_cycle",
            "OneCycle",
            one_cycle,
            lambda opt: sched.OneCycleLR(opt, **one_cycle),
            adam,
        ),
        torch_training_case(
            "adam_cyclic",
            "Cyclic",
            cyclic,
            lambda opt: sched.CyclicLR(opt, **cyclic),
            adam,
        ),
    ]


# ---------------------------------------------------------------- scikit-learn


def invscaling_case(name, learning_rate_init, power_t):
    optimizer = SGDOptimizer(
        [np.zeros(1)],
        learning_rate_init=learning_rate_init,
        lr_schedule="invscaling",
        power_t=power_t,
    )
    values = []
    for step in STEPS:
        optimizer.iteration_ends(step)
        values.append(float(optimizer.learning_rate))
    return {
        "name": name,
        "class_name": "InverseScaling",
        "config": dict(initial_learning_rate=learning_rate_init, power_t=power_t),
        "reference": "sklearn.neural_network._stochastic_optimizers.SGDOptimizer "
        "(lr_schedule='invscaling')",
        "steps": STEPS,
        "values": values,
    }


# ---------------------------------------------------------------- main


def main():
    keras.config.set_floatx("float64")
    set_float64_demotion(False)
    cases, keras_configs = [], {}
    for name, class_name, arguments in KERAS_CASES:
        case, keras_config = keras_case(name, class_name, arguments)
        cases.append(case)
        keras_configs.setdefault(class_name, keras_config)
    cases += torch_cases()
    cases.append(invscaling_case("invscaling", 0.1, 0.5))
    cases.append(invscaling_case("invscaling_power", 0.01, 0.25))
    out = {
        "generated_by": GENERATED_BY,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax_version": jax.__version__,
        "torch_version": torch.__version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "float64_demotion_patched": True,
        "cases": cases,
        "training": training_cases(),
        "keras_configs": keras_configs,
    }
    with open(JSON_PATH, "w") as handle:
        json.dump(out, handle, indent=1)
        handle.write("\n")
    print(f"wrote {os.path.normpath(JSON_PATH)}: {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
