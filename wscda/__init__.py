"""WS-CDA + PPLO: cross-domain adaptation from humans to animals (Cao et al., ICCV 2019).

* :mod:`wscda.config` - the ``wscda:`` config section (:class:`WSCDAConfig`, :class:`PPLOConfig`);
* :mod:`wscda.grl` - gradient reversal;
* :mod:`wscda.discriminator` - feature tap + two-output domain discriminator;
* :mod:`wscda.losses` - ``L_DDL`` and ``L_pose``;
* :mod:`wscda.data` - the human / animal / target streams, joint masks, target split;
* :mod:`wscda.trainer` - :class:`WSCDATrainer`;
* :mod:`wscda.pplo` - progressive pseudo-labels (:class:`PPLOTrainer`);
* :mod:`wscda.evaluate` - per-joint PCK and OKS AP on the held-out species.
"""
