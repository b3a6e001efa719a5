"""The lab: tools to look at training rather than to train.

``lr_find`` runs the learning-rate range test (fastai's ``lr_find``); its
result's ``plot()`` draws the curve with matplotlib (the ``plot`` extra).
With ``seeds=5`` it runs the test for several seeds and returns an
``LRFindBand``: the median curve, its spread and each suggestion's spread.
"""

from gradstep.lab.lr_finder import LRFindBand, LRFindResult, lr_find

__all__ = ["LRFindBand", "LRFindResult", "lr_find"]
