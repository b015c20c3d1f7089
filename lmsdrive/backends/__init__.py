"""The two runtimes behind one protocol (:class:`~lmsdrive.backends.base.Backend`)."""
