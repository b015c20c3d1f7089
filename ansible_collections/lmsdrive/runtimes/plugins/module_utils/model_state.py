# -*- coding: utf-8 -*-
# Copyright (c) lmsdrive contributors
# MIT License (see the LICENSE section of README.md)
"""Bring one model on one server to a wanted state (present, loaded, unloaded, absent)
with lmsdrive's Driver: look first, act only where the look says so (``changed`` only
then), and in check mode only say what would be done."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.lmsdrive.runtimes.plugins.module_utils.common import (
    LoadOptions,
    ModelRef,
    ServerNotRunningError,
)

STATES = ("present", "loaded", "unloaded", "absent")


class ModelState(object):
    """One run of the ``model`` module (see its documentation for the semantics).

    ``start_server``: ``None`` starts a server only when the URL is on this host.
    ``load``: the load options as a dict (context_length, gpu, ttl, identifier).
    After :meth:`run`: ``changed``, ``steps`` (what was done, or would be in check mode),
    ``before``/``after`` (the diff's views; in check mode ``after`` is predicted) and
    ``status`` (what the server says at the end; in check mode, before).
    """

    def __init__(self, driver, state, load=None, start_server=None, start_timeout=60.0,
                 check_mode=False):
        if state not in STATES:
            raise ValueError("state must be one of %s, not %r" % (", ".join(STATES), state))
        self.driver = driver
        self.backend = driver.backend
        self.spec = driver.config.runtime
        self.name = driver.model
        self.ref = ModelRef.parse(self.name)
        self.state = state
        self.options = LoadOptions(**dict((k, v) for k, v in (load or {}).items() if v is not None))
        self.start_server = (not self.backend.remote) if start_server is None else start_server
        self.start_timeout = start_timeout
        self.check_mode = check_mode
        self.changed = False
        self.steps = []
        self.before = None
        self.after = None
        self.status = None
        self._t0 = time.monotonic()

    @property
    def elapsed(self):
        return round(time.monotonic() - self._t0, 3)

    # -- looking -------------------------------------------------------------------------
    def _matches(self, listed):
        return bool(listed) and self.spec.matches(self.ref, listed)

    def observe(self):
        """What the server says of the model: running, downloaded, loaded, and the loaded
        instances (identifier, context length)."""
        ready = self.backend.readiness(self.name)
        if not ready.running:
            return dict(running=False, downloaded=None, loaded=None, instances=[])
        instances = []
        if ready.loaded:
            instances = [
                dict(identifier=m.identifier, context_length=m.context_length)
                for m in self.backend.loaded_models()
                if self._matches(m.name) or self._matches(m.identifier)
            ]
        return dict(
            running=True,
            downloaded=bool(ready.downloaded),
            loaded=bool(instances) or bool(ready.loaded),
            instances=instances,
        )

    def _instance(self, seen):
        """The loaded instance this task is about: the one with the wanted identifier, or
        any instance of the model when no identifier is asked for."""
        wanted = self.options.identifier
        for inst in seen["instances"]:
            if wanted is None or inst["identifier"] == wanted:
                return inst
        if wanted is None and seen["loaded"]:
            return dict(identifier=self.name, context_length=None)
        return None

    def _view(self, seen):
        """The diff's view: downloaded, loaded, and the loaded instance's options."""
        inst = self._instance(seen)
        options = {}
        if inst is not None:
            options = dict(identifier=inst["identifier"], context_length=inst["context_length"])
        return dict(downloaded=seen["downloaded"], loaded=inst is not None, options=options)

    # -- acting --------------------------------------------------------------------------
    def _do(self, done, would, action):
        """Run ``action`` and record ``done``; in check mode only record ``would``."""
        self.changed = True
        self.steps.append(would if self.check_mode else done)
        if not self.check_mode:
            action()

    def _how(self):
        return " through the server's API" if self.backend.via_api else ""

    def _pull(self):
        for _ in self.driver.pull(self.name):
            pass

    def _load(self):
        self.driver.load(self.name, self.options)

    def _unload(self):
        self.driver.unload(self.name)

    def _delete(self):
        self.driver.delete(self.name)

    def _start(self):
        """Start a server on this host, or raise why not (a remote URL, start_server off)."""
        b = self.backend
        if b.remote:
            raise b.not_answering()
        if not self.start_server:
            raise ServerNotRunningError(
                "%s Nothing answers at %s: start it there, or set start_server: true to let "
                "the module start it on that host." % (self.spec.not_running, b.url)
            )
        where = "the %s server at %s" % (b.display_name, b.url)
        self._do("Started " + where, "Would start " + where,
                 lambda: b.start(timeout=self.start_timeout))

    def run(self):
        """Look, act, look again; returns self."""
        if self.state == "absent":
            self.backend.check_delete(self.name)  # LM Studio: refused before any request
        if self.state == "loaded":
            self.backend.check_load_options(self.options)
        seen = self.observe()
        if not seen["running"]:
            self._start()
            if self.check_mode:  # nothing to look at until a server runs
                self.before = dict(running=False)
                self.after = dict(running=True, state=self.state)
                self.status = dict(running=False, downloaded=None, loaded=None, instances=[])
                return self
            seen = self.observe()
        self.before = self._view(seen)
        getattr(self, "_want_" + self.state)(seen)
        if self.changed and not self.check_mode:
            seen = self.observe()
            self.after = self._view(seen)
        else:
            self.after = self._predict(self.before) if self.changed else self.before
        self.status = seen
        return self

    def _predict(self, before):
        """The view after the steps check mode did not take."""
        after = dict(before, options=dict(before["options"]))
        if self.state in ("present", "loaded"):
            after["downloaded"] = True
        if self.state == "loaded":
            after["loaded"] = True
            ident = self.options.identifier or after["options"].get("identifier") or self.name
            ctx = self.options.context_length or after["options"].get("context_length")
            after["options"] = dict(identifier=ident, context_length=ctx)
        if self.state in ("unloaded", "absent"):
            after["loaded"] = False
            after["options"] = {}
        if self.state == "absent":
            after["downloaded"] = False
        return after

    # -- the states ----------------------------------------------------------------------
    def _want_present(self, seen):
        if not seen["downloaded"]:
            what = "model %s%s" % (self.name, self._how())
            self._do("Downloaded " + what, "Would download " + what, self._pull)

    def _want_loaded(self, seen):
        self._want_present(seen)
        inst = self._instance(seen)
        ctx = self.options.context_length
        if inst is not None and ctx is not None and inst["context_length"] not in (None, ctx):
            what = "model %s (context length %s, %s wanted)" % (
                self.name, inst["context_length"], ctx)
            self._do("Unloaded " + what, "Would unload " + what, self._unload)
            inst = None
        if inst is None:
            what = "model %s%s" % (self.name, self._how())
            self._do("Loaded " + what, "Would load " + what, self._load)

    def _want_unloaded(self, seen):
        if seen["loaded"]:
            what = "model %s" % self.name
            self._do("Unloaded " + what, "Would unload " + what, self._unload)

    def _want_absent(self, seen):
        if seen["downloaded"]:
            what = "model %s" % self.name
            self._do("Deleted " + what, "Would delete " + what, self._delete)
