"""Regression tooling: the regression cases of the regions and city plugins (load, run,
report), their rule coverage, mutation testing of the rule files, and the pytest plugin that
collects case files beside the unit tests.

It sits beside `compiler` and `runtime`: it uses both (cases run packs through the runtime;
mutation rebuilds rule files through the compiler's pipeline), and neither imports it (a test
keeps that direction).
"""
