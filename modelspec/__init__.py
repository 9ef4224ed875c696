"""modelspec: a declarative model-spec compiler for convolutional networks."""

__version__ = "0.1.0"
