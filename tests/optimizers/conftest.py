import numpy as np
import pytest

from gradstep import optimizers


@pytest.fixture
def keras_trajectory(keras_numerics):
    """Replay a Keras optimizer fixture: returns (gradstep trajectory, Keras trajectory)."""
    cases = {case["name"]: case for case in keras_numerics["optimizers"]}

    def replay(name):
        case = cases[name]
        optimizer = getattr(optimizers, case["class"])(**case["config"])
        variable = np.array(case["initial"], dtype=np.float64)
        trajectory = []
        for gradient in case["gradients"]:
            optimizer.apply_gradients([(np.array(gradient), variable)])
            trajectory.append(variable.copy())
        return np.array(trajectory), np.array(case["trajectory"])

    return replay
