"""Each event has one contract; producers build with it, consumers load with it."""
import pytest

from contracts.__main__ import all_contracts, table
from shared.events import Contract, ContractViolation, queue_of, queues_of, service_names, subscribers
from tests.support import ROOT

CONTRACTS = [contract for _, contract in all_contracts()]
SPEC_EVENTS = {"adhesion.submitted", "adhesion.correction_requested", "payment.received", "adhesion.validated",
               "documents.generated", "adhesion.reminder_due"}


def test_every_event_of_the_spec_has_one_versioned_contract():
    names = [contract.name for contract in CONTRACTS]
    assert SPEC_EVENTS <= set(names) and len(names) == len(set(names))
    assert all(isinstance(contract.version, int) and contract.version >= 1 for contract in CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_example_builds_and_loads(contract: Contract):
    event = contract.build(contract.example)
    assert event.data == contract.example  # as it travels
    loaded = contract.load(event.to_dict()).data
    assert contract.build(loaded).data == contract.example  # a consumer passes on what it loaded


def test_loaded_events_are_typed():
    from datetime import date, datetime
    from decimal import Decimal

    from contracts import adhesion

    data = adhesion.VALIDATED.load(adhesion.VALIDATED.build(adhesion.VALIDATED.example).to_dict()).data
    assert isinstance(data["amounts"]["total"], Decimal) and isinstance(data["amount_paid"], Decimal)
    assert isinstance(data["validated_at"], datetime) and data["validated_at"].tzinfo is not None
    assert data.get("paid_on") is None or isinstance(data["paid_on"], date)
    with pytest.raises(ContractViolation, match="amount_paid"):
        adhesion.VALIDATED.build({**adhesion.VALIDATED.example, "amount_paid": 439.25})  # never a float


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_producer_cannot_leave_out_or_invent_a_field(contract: Contract):
    first = next(iter(contract.example))
    with pytest.raises(ContractViolation, match=first):
        contract.build({k: v for k, v in contract.example.items() if k != first})
    with pytest.raises(ContractViolation, match="surprise"):
        contract.build({**contract.example, "surprise": 1})


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_consumer_refuses_an_unknown_version_clearly(contract: Contract):
    envelope = {**contract.build(contract.example).to_dict(), "version": contract.version + 1}
    with pytest.raises(ContractViolation, match=f"reads v{contract.version} only"):
        contract.load(envelope)


def test_consumer_tolerates_a_field_added_by_a_newer_producer():
    contract = CONTRACTS[0]
    envelope = contract.build(contract.example).to_dict()
    envelope["data"]["added_later"] = "x"
    assert contract.load(envelope).data["added_later"] == "x"


def test_subscriptions_name_contracts_and_run_on_the_consumers_own_queue():
    table = subscribers()
    assert set(table) <= {contract.name for contract in CONTRACTS}
    queues = {queue: service for service in service_names() for queue in queues_of(service)}
    for tasks in table.values():  # a consumer's own queue, or one of its lanes (notify_bulk)
        assert all(queues.get(queue_of(task)) == task.split(".")[0].split("_")[0] for task in tasks)
    assert table["adhesion.validated"][0] == "documents.on_adhesion_validated"


def test_docs_table_is_generated_from_the_contracts():
    assert (ROOT / "docs" / "contracts.md").read_text() == table(), "run: python -m contracts > docs/contracts.md"
