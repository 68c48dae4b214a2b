"""Each service's migrations form one line: two branches merged side by side would leave
two heads, and the start-up step would refuse to migrate."""
import pytest
from alembic.script import ScriptDirectory

from shared.events import service_names
from tests.support import ROOT


@pytest.mark.parametrize("name", service_names())
def test_one_head_per_service(name):
    script = ScriptDirectory(str(ROOT / "services" / name / "migrations"))
    assert len(script.get_heads()) == 1, f"{name}: heads {script.get_heads()} — set one down_revision to the other"
