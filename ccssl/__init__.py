"""CC-SSL: consistency-constrained self-supervised pseudo-labelling (Mu et al., CVPR 2020)."""
