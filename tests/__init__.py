"""The test suite, one package per evalsuite package tested (README: Development); shared paths in conftest."""
