"""What a command printed: the one input every parser reads.

A :class:`Transcript` is argv, exit code, stdout and stderr kept apart (and, for HTTP
exchanges, the status code). A live run produces one; a fixture on disk is one saved;
``lmsdrive parse`` builds one from standard input (everything in ``stdout``, as a terminal
paste holds both streams merged).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Transcript:
    """The recorded output of one command (or one HTTP response)."""

    stdout: str = ""
    stderr: str = ""
    argv: tuple[str, ...] = ()
    exit_code: int | None = None
    http_status: int | None = None
    meta: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def text(self) -> str:
        """Both streams as one text: stdout, then stderr.

        Parsers match line by line and do not depend on the interleaving of the two
        streams, so the order only matters for display.
        """
        if not self.stderr:
            return self.stdout
        if not self.stdout:
            return self.stderr
        sep = "" if self.stdout.endswith("\n") else "\n"
        return self.stdout + sep + self.stderr

    @classmethod
    def of(cls, text: str, **kwargs: object) -> Transcript:
        """A transcript whose whole output is ``text`` (a paste, or a merged capture)."""
        return cls(stdout=text, **kwargs)  # type: ignore[arg-type]
