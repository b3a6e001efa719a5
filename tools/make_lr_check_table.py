"""Print the docs' table of the range test's suggestion against compare's choice.

    PYTHONPATH=src python tools/make_lr_check_table.py [digits iris wine]

For each data set: ``lr_find(seeds=5)`` on compare's model (Dense(64, relu),
Adam, batch 32), and ``compare`` over 9 rates from 1e-4 to 1 (20 epochs, 3
seeds, chosen on the validation part). The output goes to docs/learning-rate.md.
"""

import sys

from gradstep.lab.lr_check import check_suggestion, markdown_table


def main(names):
    checks = [check_suggestion(name, n_jobs=-1) for name in names]
    print(markdown_table(checks))


if __name__ == "__main__":
    main(sys.argv[1:] or ["digits", "iris", "wine"])
