"""WS-CDA + PPLO: cross-domain adaptation from humans to animals (Cao et al., ICCV 2019)."""
