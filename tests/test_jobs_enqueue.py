"""Jobs take ids only: personal data in job arguments is refused before anything reaches Redis."""
import pytest

from saas import jobs
from saas.jobs.queues import QUEUES

T = "saas.testing.jobs_for_tests."


@pytest.mark.parametrize("value, error", [
    ("anna.jansen@example.nl", ValueError),          # an e-mail address
    ("x" * 65, ValueError),                          # free text, not an id
    ({"name": "Anna Jansen"}, TypeError),            # a record
    (["Anna", "Jansen"], TypeError),
    (b"Anna Jansen", TypeError),
    (3.5, TypeError),
])
def test_personal_data_in_job_arguments_is_refused(ctx, job_queue, value, error):
    with pytest.raises(error):
        jobs.enqueue("default", T + "report_steps", tenant_id=1, steps=value)
    assert job_queue.count == 0


def test_unsafe_job_ids_and_unknown_queues_are_refused(ctx, job_queue):
    with pytest.raises(ValueError):
        jobs.enqueue("default", T + "always_fails", tenant_id=1, job_id="sweep/../1")
    with pytest.raises(ValueError):
        jobs.enqueue("nope", T + "always_fails", tenant_id=1)
    assert job_queue.count == 0
    assert "nope" not in QUEUES


def test_ids_are_enqueued_with_the_tenant_in_meta_only(ctx, job_queue):
    job = jobs.enqueue("default", T + "report_steps", tenant_id=7, steps=3, job_id="steps-7")
    assert job.kwargs == {"steps": 3}   # the tenant belongs to the job, not to the function
    assert job.meta["tenant_id"] == 7
    assert job_queue.job_ids == ["steps-7"]
