"""A gradstep network inside a scikit-learn Pipeline, tuned by GridSearchCV over
the optimizer and its learning rate, with two worker processes.

    python examples/sklearn_grid_search.py
"""

from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gradstep.sklearn import GradstepClassifier

x, y = load_wine(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x, y, stratify=y, random_state=0)

pipeline = make_pipeline(
    StandardScaler(), GradstepClassifier(hidden_layer_sizes=(32,), epochs=30, random_state=0)
)
grid = {
    "gradstepclassifier__optimizer": ["sgd", "adam"],
    "gradstepclassifier__learning_rate": [0.001, 0.01, 0.1],
}
search = GridSearchCV(pipeline, grid, cv=3, n_jobs=2).fit(x_train, y_train)
print("best:", search.best_params_, f"cv accuracy {search.best_score_:.4f}")
print(f"test accuracy {search.score(x_test, y_test):.4f}")
