"""The running system a module's tests share: ``system`` is (stack, sink), started once per
module by ``tests.support.module_system`` with the module's ``SYSTEM_ENV`` (settings such
as ``SCHOOL_YEAR``); ``stack`` and ``sink`` are its two halves. A module whose tests need a
system of their own (faults, other settings per test) defines its own ``stack``.
``number`` is a cooperative number no other test of the session uses."""
import itertools

import pytest

from tests.support import module_system


@pytest.fixture(scope="module")
def system(request, tmp_path_factory, redis_server):
    env = getattr(request.module, "SYSTEM_ENV", {})
    with module_system(tmp_path_factory, redis_server, request.module.__name__.rsplit(".", 1)[-1], **env) as running:
        yield running


@pytest.fixture(scope="module")
def stack(system):
    return system[0]


@pytest.fixture(scope="module")
def sink(system):
    return system[1]


_numbers = itertools.count(1)


@pytest.fixture
def number():
    """This test's own cooperative number, so tests sharing a system never meet."""
    return f"038{next(_numbers):04d}T00"
