"""Test helpers for lmsdrive and for users testing their own automation without a GPU:
the fixture tree, and fake ``ollama``/``lms`` runtimes that replay it."""
