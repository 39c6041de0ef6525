"""policy_dsl: a compiler for medical-insurance assessment rules, and the runtime its packs use.

`policy_dsl.compiler` turns rule files into Python rule packs; `policy_dsl.runtime` is what
the packs (and the systems that score with them) import. The runtime imports nothing of the
compiler.
"""

__version__ = "0.1.0"
