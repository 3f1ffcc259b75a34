"""CC-SSL: consistency-constrained self-supervised pseudo-labelling (Mu et al., CVPR 2020).

* :mod:`ccssl.equivariance` - random re-crops of the input crop and the batched
  warp of their heatmaps back to the identity frame;
* :mod:`ccssl.temporal` - Lucas-Kanade propagation of labels from the previous
  frame of the same shot;
* :mod:`ccssl.curriculum` - the confidence-quantile schedule;
* :mod:`ccssl.pseudo_labels` - labelling a target set with a model;
* :mod:`ccssl.trainer` - joint source + target training (``animalpose adapt``).
"""
from .curriculum import confidence_threshold, curriculum_weights, quantile_p
from .pseudo_labels import PseudoLabels, apply_curriculum, generate

__all__ = ["confidence_threshold", "curriculum_weights", "quantile_p", "PseudoLabels", "apply_curriculum",
           "generate"]
