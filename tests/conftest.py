"""Settings every test shares."""

import os

# MS312 names this machine's memory; pinning it to the CI machine's 24 GiB keeps
# golden outputs the same on every machine (test_resources checks the real
# detection with this unset). Subprocesses inherit it.
os.environ["MODELSPEC_MEMORY_BYTES"] = str(24 * 2**30)
