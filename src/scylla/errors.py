"""Error kinds and the exit codes they map to.

Exit codes: 0 every unit completed and was judged; 1 at least one unit errored
(the agent or the judge could not finish); 2 the run could not start as asked
(bad flags, a bad fixture, a missing tool the user asked for, an API that
refuses the key, the model or the quota); 130 interrupted
(SIGINT), 143 terminated (SIGTERM).
A low score is data, never a process failure.
"""

EXIT_OK = 0
EXIT_UNIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class ScyllaError(Exception):
    """Base class for errors the command line reports in one line."""

    exit_code = EXIT_USAGE


class UsageError(ScyllaError):
    """Flags or environment do not allow the run (exit 2)."""


class FixtureError(ScyllaError):
    """The test fixture is missing a file or holds invalid data (exit 2)."""


class ResultsWriteError(ScyllaError):
    """A result could not be written (a full disk, a read-only mount): stop at once (exit 1)."""

    exit_code = EXIT_UNIT_ERROR

    @classmethod
    def from_os_error(cls, error: OSError, path=None) -> "ResultsWriteError":
        reason = (error.strerror or str(error)).lower()
        return cls(f"cannot write {path or error.filename}: {reason}")


class ApiUnusable(ScyllaError):
    """The model API refuses the work (key, permission, model, quota): exit 2."""


class Terminated(BaseException):
    """SIGTERM arrived; unwinds like KeyboardInterrupt so cleanup code runs."""
