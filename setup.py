"""animalpose: animal pose estimation under domain shift (CC-SSL, WS-CDA) on
top of faithful human-pose baselines (hourglass, SimpleBaseline, HRNet, DEKR)."""
from setuptools import find_packages, setup

setup(
    name="animalpose",
    version="0.1.0",
    description="Research kit for animal pose estimation under domain shift",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["animalpose*", "datasets*", "ccssl*", "wscda*", "evaluation*"]),
    package_data={"animalpose": ["configs/*.yaml"]},
    include_package_data=True,
    install_requires=[
        "torch>=2.0",
        "torchvision>=0.15",
        "numpy>=1.23",
        "opencv-python-headless>=4.7",
        "albumentations>=2.0,<2.1",
        "scipy>=1.9",
        "pycocotools>=2.0.6",
        "tensorboard>=2.12",
        "progress>=1.6",
        "pyyaml>=6.0",
        "matplotlib>=3.6",
    ],
    extras_require={"dev": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6.80", "ruff>=0.4", "import-linter>=2.0"]},
    entry_points={"console_scripts": ["animalpose=animalpose.cli:main"]},
)
