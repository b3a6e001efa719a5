"""The lab: tools to look at training rather than to train.

``lr_find`` runs the learning-rate range test (fastai's ``lr_find``); its
result's ``plot()`` draws the curve with matplotlib (the ``plot`` extra).
With ``seeds=5`` it runs the test for several seeds and returns an
``LRFindBand``: the median curve, its spread and each suggestion's spread.

``explain_step(model, x, y, weight="dense/kernel", index=(3, 5))`` explains
the model's next training step for one weight: its gradient backward as a
product of local slopes, every value of the optimizer's update, and the new
value, which is the real step's bit for bit.
"""

from gradstep.lab.explain_model import StepExplanation, explain_step
from gradstep.lab.lr_finder import LRFindBand, LRFindResult, lr_find

__all__ = ["LRFindBand", "LRFindResult", "StepExplanation", "explain_step", "lr_find"]
