"""Shared by the CLI tests: a user error is one ``multissl: error:`` line, without a traceback."""


def one_line_error(capsys, *needles) -> str:
    """Assert that stderr holds exactly one error line containing every needle; return it."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("multissl: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
