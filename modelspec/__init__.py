"""modelspec: a declarative model-spec compiler for convolutional networks."""

__version__ = "0.1.0"

# The name on PyPI. `modelspec` there is an unrelated project, so the
# distribution is `modelspec-cnn`; the command and the import stay `modelspec`.
DISTRIBUTION = "modelspec-cnn"
