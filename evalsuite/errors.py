"""Error types the CLI turns into one clear line and an exit code."""


class EvalsuiteError(Exception):
    """A failure the user should read as one line (exit code 1)."""

    exit_code = 1


class BadInputError(EvalsuiteError):
    """Bad input: config, task name, CLI argument or data file (exit code 2)."""

    exit_code = 2
