"""The lab: tools to look at training rather than to train.

``lr_find`` runs the learning-rate range test (fastai's ``lr_find``); its
result's ``plot()`` draws the curve with matplotlib (the ``plot`` extra).
"""

from gradstep.lab.lr_finder import LRFindResult, lr_find

__all__ = ["LRFindResult", "lr_find"]
