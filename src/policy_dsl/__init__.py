"""policy_dsl: a compiler for medical-insurance assessment rules, and the runtime its packs use.

`policy_dsl.compiler` turns rule files into Python rule packs; `policy_dsl.runtime` is what
the packs (and the systems that score with them) import. The runtime imports nothing of the
compiler. `score_records` and `score_frame` score records from Python (see policy_dsl.api).
"""

__version__ = "0.2.0"

# The Python API (runtime only; pandas is imported by score_frame alone). Imported after
# __version__, which the runtime reads.
from .api import (
    RESULT_SCHEMA_VERSION,
    Result,
    result_schema,
    score_frame,
    score_records,
)

__all__ = ["RESULT_SCHEMA_VERSION", "Result", "__version__", "result_schema", "score_frame",
           "score_records"]
