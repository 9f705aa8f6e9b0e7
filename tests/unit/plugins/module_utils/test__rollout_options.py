"""The shared rollout options' checks: each wrong input named."""

from ansible_collections.launchbay.webstack.plugins.module_utils._rollout_options import ROLLOUT_ARGUMENT_SPEC, input_errors


def params(**changes):
    values = dict((name, spec.get("default")) for name, spec in ROLLOUT_ARGUMENT_SPEC.items())
    values.update(app="demo")
    values.update(changes)
    return values


def test_good_defaults_have_no_error():
    assert input_errors(params()) == []


def test_an_app_name_that_is_not_a_file_name_is_refused():
    # the app names the rollout mutex's file (and the ledger's): no way out of their folder
    for app in ("../etc/demo", "a/b", ".hidden", ""):
        assert [e for e in input_errors(params(app=app)) if e.startswith("app must be a name")], app


def test_each_wrong_number_is_named():
    errors = input_errors(params(replicas=0, busy_timeout=-1, batch_size=-2))
    assert errors == ["replicas must be at least 1, got 0", "busy_timeout must be 0 or more, got -1",
                      "batch_size must be 0 (all at once) or more, got -2"]
