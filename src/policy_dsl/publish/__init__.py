"""The published table of a standard (`policyc render`): the table model and one writer per
format. The model comes from the compiler (`policy_dsl.compiler.render`); the writers lay it
out and know nothing of rule files."""
