"""Find a learning rate for the reference model on digits with the range test
(fastai's lr_find), and draw the curve to lr_find.png.

    python examples/lr_finder.py
"""

from gradstep import datasets, layers, models
from gradstep.lab import lr_find

(x_train, y_train), _ = datasets.load_digits()
model = models.Sequential(
    [
        layers.Dense(512, activation="relu", input_shape=(64,)),
        layers.Dense(10, activation="softmax"),
    ],
    seed=0,
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")

result = lr_find(model, x_train, y_train, start_lr=1e-6, end_lr=1, num_steps=100)
print(f"suggested learning rate (steep): {result.steep:.3g}")
print(f"suggested learning rate (minimum/10): {result.minimum:.3g}")
result.plot().savefig("lr_find.png")
print("plot: lr_find.png")
