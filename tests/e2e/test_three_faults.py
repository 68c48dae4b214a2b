"""The three faults of bench/faults.py at the suite's size, in a file of its own so that
`make test` runs it beside test_outages.py: a documents worker SIGKILLed, PostgreSQL
restarted and Redis restarted without its data, in one burst of validations."""
import threading
import time

from tests.e2e.test_outages import assert_exactly_once, postgres, sink, start_stack, validated_once  # noqa: F401
from tests.faults import Validations, confirmation_pdfs, numbers, prepare
from tests.support import wait_for


def test_three_faults_in_one_burst(tmp_path, postgres, redis_server, redis_url, sink):
    """bench/faults.py at the suite's size: 60 validations at once while the documents
    worker is SIGKILLed (30 % answered), PostgreSQL restarted (45 %) and Redis killed and
    started again without its data (60 %). Every confirmation once, with both PDFs. The
    stack is supervised as `make run` is: a worker that stops taking messages after the
    Redis restart (celery#7800) is replaced and the relays republish."""
    stack = start_stack(tmp_path, postgres, redis_url, sink).supervise(after=20)
    try:
        staff = stack.login("admin", "admin-password")
        cooperatives = numbers(60)
        prepare(stack, staff, cooperatives)
        validations = Validations(stack, staff)
        faults = []

        def at(share, fault, what):
            def run():
                wait_for(lambda: validations.done >= share * len(cooperatives), timeout=120, interval=0.005,
                         what=f"{share:.0%} of the burst")
                faults.append((what, validations.done))
                fault()
            return threading.Thread(target=run, daemon=True)

        def kill_documents_worker():
            stack.workers["documents"].kill()
            stack.start_worker("documents")

        def restart_redis():
            redis_server.stop()
            time.sleep(0.5)  # down for a moment: the workers and relays lose their connections
            redis_server.start()

        injectors = [at(0.30, kill_documents_worker, "worker SIGKILL"), at(0.45, postgres.restart, "PostgreSQL restart"),
                     at(0.60, restart_redis, "Redis restart")]
        for injector in injectors:  # each its own thread: a slow fault does not delay the next
            injector.start()
        validations.run(cooperatives)
        for injector in injectors:
            injector.join(60)
        assert [what for what, _ in faults] == ["worker SIGKILL", "PostgreSQL restart", "Redis restart"], faults
        statuses = validations.statuses()
        assert statuses[500] == 0 and set(statuses) <= {0, 200, 503}, statuses
        assert validations.done == len(cooperatives), statuses
        assert len(set(validations.codes.values())) == len(cooperatives)  # no code given twice
        validated_once(stack, cooperatives)
        assert_exactly_once(stack, sink, cooperatives, timeout=180)
        print(f"workers the supervision replaced: {stack.replaced or 'none'}")
        pdfs = confirmation_pdfs(sink.directory)
        for number in cooperatives:
            attestation, certificate = pdfs[number]
            assert number in attestation and validations.codes[number] in attestation and "439,25 €" in attestation
            assert number in certificate and validations.codes[number] in certificate and "43,75 €" in certificate
    finally:
        stack.stop()
