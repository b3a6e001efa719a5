"""Regression with the Huber loss on diabetes: quadratic for small errors,
linear for large ones, so a few outliers pull less than with mean squared error.

    python examples/regression_huber.py
"""

from gradstep import datasets, layers, losses, models, optimizers

(x_train, y_train), (x_test, y_test) = datasets.load_diabetes()

for loss in ("mse", losses.Huber(delta=30.0)):
    model = models.Sequential(
        [layers.Dense(32, activation="relu", input_shape=(10,)), layers.Dense(1)], seed=0
    )
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss=loss, metrics=["mae"])
    model.fit(x_train, y_train, epochs=100, batch_size=32, verbose=0)
    test_loss, test_mae = model.evaluate(x_test, y_test, verbose=0)
    name = loss if isinstance(loss, str) else f"huber (delta {loss.delta:g})"
    print(f"{name}: test MAE {test_mae:.2f}")
