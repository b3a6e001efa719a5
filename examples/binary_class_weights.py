"""Binary classification with class weights on breast cancer, made strongly
unbalanced: only one malignant tumour in five is kept for training. Weighting
the rare class raises its recall.

    python examples/binary_class_weights.py
"""

import numpy as np

from gradstep import datasets, layers, models

(x_train, y_train), (x_test, y_test) = datasets.load_breast_cancer()
malignant = np.flatnonzero(y_train == 0)  # scikit-learn's label 0 is malignant
keep = np.concatenate([malignant[::5], np.flatnonzero(y_train == 1)])
x_train, y_train = x_train[keep], y_train[keep]

counts = np.bincount(y_train)
# "balanced" weights, as scikit-learn computes them: n_samples / (n_classes * count)
class_weight = {label: float(len(y_train) / (2 * count)) for label, count in enumerate(counts)}
print(
    "training counts", counts.tolist(), "weights", {k: round(v, 3) for k, v in class_weight.items()}
)

for weights in (None, class_weight):
    model = models.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(30,)),
            layers.Dense(1, activation="sigmoid"),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=32, class_weight=weights, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predicted = (model.predict(x_test, verbose=0)[:, 0] > 0.5).astype(int)
    recall = np.mean(predicted[y_test == 0] == 0)
    print(
        f"class_weight={'balanced' if weights else None}: test accuracy {accuracy:.4f}, "
        f"recall of malignant tumours {recall:.4f}"
    )
