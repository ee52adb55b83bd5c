"""Exceptions raised by partita (docs/python.md, "Errors")."""


class PartitaError(Exception):
    """Base class of every exception partita raises on purpose."""


class CompileError(PartitaError):
    """The compiler rejected the model or an annotation.

    ``message`` is the compiler's first error, ``location`` where it is
    (``"mlp.json: node 3 (h)"``, or ``"file.py:12"`` for graphs built in
    Python), ``diagnostics`` every diagnostic of the failed step as dicts with
    ``severity``, ``message``, ``location``, ``node`` and ``names``.
    """

    def __init__(self, message, location="", diagnostics=None):
        self.message = message
        self.location = location or ""
        self.diagnostics = list(diagnostics or [])
        text = f"{self.location}: {message}" if self.location else message
        super().__init__(text)


class ExecutionError(PartitaError, RuntimeError):
    """Running compiled code failed.

    ``message`` is one line: for multi-rank runs the launcher's diagnostic
    naming the failing rank and collective (``rank 1 failed (SIGABRT) in
    collective #2 (all_reduce, group 0)``); ``lines`` every error line the
    run printed, root cause first; ``returncode`` the launcher's exit status
    (None for in-process runs or a timeout).
    """

    def __init__(self, message, lines=None, returncode=None):
        self.message = message
        self.lines = list(lines or [])
        self.returncode = returncode
        super().__init__(message)
