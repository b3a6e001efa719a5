"""Compare optimizers and learning rates on digits, side by side: a table, and
plots plus an HTML report in ./comparison/ (in parallel processes).

    python examples/optimizer_comparison.py
"""

from pathlib import Path

from gradstep.lab import compare, report

sweep = compare.compare(
    "digits",
    optimizers=["sgd", "rmsprop", "adam", "adagrad"],
    learning_rates=[0.001, 0.01, 0.1],
    epochs=5,
    seeds=2,
    target=0.9,
)
print(sweep.table())

output = Path("comparison")
output.mkdir(exist_ok=True)
report.save_plots(sweep, output)
sweep.to_csv(output / "summary.csv")
print("report:", report.write_report(sweep, output / "report.html"))
