"""A bank statement a user sends, read with ``banking.statements`` for a use case: a file
that cannot be read is the domain's ``Invalid``, naming the file and where it fails
(a line, or an XML element), and nothing is kept."""
from banking.statements import Statement, StatementError, read_statement
from shared.errors import Invalid


def read_statement_file(data: bytes) -> Statement:
    try:
        return read_statement(data)
    except StatementError as error:
        where = {"line": error.line} if error.line else ({"element": error.element} if error.element else {})
        raise Invalid(f"Relevé refusé, {error.message}", {"file": [error.message]}, **where) from None
