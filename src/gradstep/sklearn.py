"""scikit-learn estimators backed by a gradstep network.

``GradstepClassifier`` and ``GradstepRegressor`` follow scikit-learn's
estimator contract (the constructor stores its arguments unchanged; ``fit``
validates and builds; learned attributes end in ``_``), so they drop into
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``:

    >>> from sklearn.datasets import load_iris
    >>> from gradstep.sklearn import GradstepClassifier
    >>> x, y = load_iris(return_X_y=True)
    >>> model = GradstepClassifier(hidden_layer_sizes=(16,), learning_rate=0.01, epochs=150,
    ...                            random_state=0)
    >>> model.fit(x, y).score(x, y) > 0.9
    True

The network is ``Dense(h, activation)`` for each ``h`` in ``hidden_layer_sizes``,
then a softmax (several classes), sigmoid (two) or linear (regression) output.
Any keyword ``optimizer__<name>`` is passed to the optimizer, for example
``optimizer="sgd", optimizer__momentum=0.9``, and can be searched over by
``GridSearchCV`` like every other parameter. The network computes in float64
(float32 ``X`` is converted), so predictions do not depend on how the rows are
split into calls beyond float64 round-off.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    check_is_fitted,
    check_random_state,
    column_or_1d,
    validate_data,
)

from gradstep import callbacks, layers, models
from gradstep.optimizers.base import OPTIMIZERS

_ROUTED = "optimizer__"
# The network computes in float64, the dtype X is validated to (float32 X too). A row's
# prediction then depends on the other rows of its batch, through the BLAS kernel the CPU
# selects for that shape, only at float64 round-off (~1e-16): far inside the 1e-7 to which
# scikit-learn's checks compare predictions on subsets with those on the whole. In
# float32 the difference reaches 1e-7 on some CPUs.
_DTYPE = "float64"


class _GradstepEstimator(BaseEstimator):
    """What the classifier and the regressor share: parameters, the network, the loop."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        loss=None,
        optimizer="adam",
        learning_rate=0.001,
        batch_size=32,
        epochs=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        shuffle=True,
        random_state=None,
        verbose=0,
        **optimizer_params,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        # Stored unchecked, as scikit-learn asks of a constructor; fit() checks them.
        for key, value in optimizer_params.items():
            setattr(self, key, value)
        self._extra_params = tuple(optimizer_params)

    # Every extra keyword is a parameter (as in skorch and scikeras), so clone() and
    # GridSearchCV carry it, and a mistaken one survives clone() to be reported by fit().
    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update({key: getattr(self, key) for key in self._extra_params})
        return params

    def set_params(self, **params):
        extra = [k for k in params if k.startswith(_ROUTED) or k in self._extra_params]
        for key in extra:
            setattr(self, key, params.pop(key))
        self._extra_params = tuple(dict.fromkeys((*self._extra_params, *extra)))
        return super().set_params(**params)

    # --- the network -----------------------------------------------------------------
    def _make_model(self, n_features, n_outputs, output_activation, loss):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
        model = models.Sequential(seed=self._seed())
        model.add(layers.Input(shape=(n_features,)))
        for size in sizes:
            model.add(layers.Dense(int(size), activation=self.activation, dtype=_DTYPE))
        model.add(layers.Dense(n_outputs, activation=output_activation, dtype=_DTYPE))
        model.compile(optimizer=self._make_optimizer(), loss=self.loss or loss, metrics=None)
        return model

    def _make_optimizer(self):
        unexpected = [k for k in self._extra_params if not k.startswith(_ROUTED)]
        if unexpected:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments {unexpected} "
                f"(optimizer settings are passed as {_ROUTED}<name>, e.g. optimizer__momentum=0.9)"
            )
        if not isinstance(self.optimizer, str):
            raise TypeError(f"optimizer must be a name such as 'adam', received {self.optimizer!r}")
        settings = {k[len(_ROUTED) :]: v for k, v in vars(self).items() if k.startswith(_ROUTED)}
        if self.learning_rate is not None:
            settings.setdefault("learning_rate", self.learning_rate)
        return OPTIMIZERS.lookup(self.optimizer, "optimizer")(**settings)

    def _train(self, x, y, epochs):
        callback_list, validation_data = [], None
        if self.early_stopping:
            x, y, validation_data = self._hold_out(x, y)
            callback_list.append(
                callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.n_iter_no_change,
                    min_delta=self.tol,
                    restore_best_weights=True,
                )
            )
        history = self.model_.fit(
            x,
            y,
            batch_size=min(self.batch_size, len(x)),
            epochs=epochs,
            verbose=self.verbose,
            shuffle=self.shuffle,
            validation_data=validation_data,
            callbacks=callback_list,
        )
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(values)
        self.loss_curve_ = list(self.history_["loss"])
        self.n_iter_ = len(self.loss_curve_)
        return self

    def _hold_out(self, x, y):
        """A validation part for early stopping, drawn at random (stratified for
        classes, as scikit-learn's MLP does), since the rows may come sorted."""
        from sklearn.model_selection import train_test_split

        count = int(len(x) * self.validation_fraction)
        if count < 1 or count >= len(x):
            raise ValueError(
                f"early_stopping needs validation samples: validation_fraction="
                f"{self.validation_fraction} of {len(x)} samples leaves {count}"
            )
        stratify = y if isinstance(self, ClassifierMixin) else None
        x_train, x_val, y_train, y_val = train_test_split(
            x, y, test_size=count, random_state=self._seed(), stratify=stratify
        )
        return x_train, y_train, (x_val, y_val)

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _predict_raw(self, x):
        check_is_fitted(self, "model_")
        x = validate_data(self, x, reset=False, dtype=np.float64)
        return self.model_.predict(x, batch_size=max(len(x), 1), verbose=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class GradstepClassifier(ClassifierMixin, _GradstepEstimator):
    """A neural-network classifier trained by gradstep.

    Args:
        hidden_layer_sizes: units of each hidden Dense layer. Defaults to (100,).
        activation: the hidden layers' activation. Defaults to 'relu'.
        loss: defaults to 'sparse_categorical_crossentropy' (softmax output), or
            'binary_crossentropy' (sigmoid output) for two classes.
        optimizer: an optimizer name. Defaults to 'adam'.
        learning_rate: a float or a schedule; None keeps the optimizer's default.
        batch_size: as in ``Sequential.fit``. Defaults to 32.
        epochs: passes over the data. Defaults to 200.
        early_stopping: hold out ``validation_fraction`` of the data and stop
            after ``n_iter_no_change`` epochs without a ``tol`` improvement of
            the validation loss, keeping the best weights.
        random_state: seeds the weights and the shuffling.
        **optimizer_params: ``optimizer__<name>=value`` settings for the optimizer.
            Any other keyword is kept as a parameter too, and ``fit`` rejects it.
    """

    def fit(self, X, y):
        x, y = validate_data(self, X, y, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_ = unique_labels(y)
        return self._fit_encoded(x, np.searchsorted(self.classes_, y), self.epochs)

    def partial_fit(self, X, y, classes=None):
        """One epoch over ``X, y``; the first call needs ``classes`` (all of them)."""
        first_call = not hasattr(self, "model_")
        x, y = validate_data(self, X, y, dtype=np.float64, reset=first_call)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = unique_labels(np.asarray(classes))
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y holds classes {unknown.tolist()} not in classes {self.classes_.tolist()}"
            )
        encoded = np.searchsorted(self.classes_, y)
        if first_call:
            return self._fit_encoded(x, encoded, 1)
        return self._train(x, encoded, 1)

    def _fit_encoded(self, x, encoded, epochs):
        binary = len(self.classes_) <= 2
        self.history_ = {}
        self.model_ = self._make_model(
            x.shape[1],
            1 if binary else len(self.classes_),
            "sigmoid" if binary else "softmax",
            "binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        )
        targets = encoded.astype(np.float64)[:, None] if binary else encoded
        return self._train(x, targets, epochs)

    def predict_proba(self, X):
        """Class probabilities, one column per entry of ``classes_``."""
        probabilities = self._predict_raw(X)
        if probabilities.shape[1] == 1:
            positive = probabilities[:, 0]
            probabilities = np.column_stack([1 - positive, positive])
            if len(self.classes_) == 1:
                probabilities = probabilities[:, :1] * 0 + 1
        return probabilities

    def predict(self, X):
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def _train(self, x, y, epochs):
        if len(self.classes_) == 1:  # one class: nothing to learn, always predict it
            self.history_.setdefault("loss", [])
            self.loss_curve_ = list(self.history_["loss"])
            self.n_iter_ = 0
            return self
        return super()._train(x, y, epochs)


class GradstepRegressor(RegressorMixin, _GradstepEstimator):
    """A neural-network regressor trained by gradstep (linear output, 'mse' loss by
    default); the same parameters as :class:`GradstepClassifier`."""

    def fit(self, X, y):
        x, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        self.history_ = {}
        self._single_output = y.ndim == 1
        targets = y.reshape(len(y), -1)
        self.model_ = self._make_model(x.shape[1], targets.shape[1], None, "mse")
        return self._train(x, targets, self.epochs)

    def partial_fit(self, X, y):
        """One epoch over ``X, y`` (the first call builds the network)."""
        if not hasattr(self, "model_"):
            epochs, self.epochs = self.epochs, 1
            try:
                return self.fit(X, y)
            finally:
                self.epochs = epochs
        x, y = validate_data(
            self, X, y, dtype=np.float64, multi_output=True, y_numeric=True, reset=False
        )
        return self._train(x, y.reshape(len(y), -1), 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        outputs = self._predict_raw(X)
        return outputs[:, 0] if self._single_output else outputs
