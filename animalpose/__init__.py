"""animalpose: animal pose estimation under domain shift.

Core package: keypoint specs, codecs, transforms, models, training engine, CLI.
"""
__version__ = "0.1.0"
