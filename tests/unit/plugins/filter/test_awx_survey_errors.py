import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.launchbay.webstack.plugins.filter.awx_survey_errors import FilterModule, awx_survey_errors


def q(**kw):
    question = {"type": "text", "question_name": "Release", "variable": "app_version", "required": True}
    question.update(kw)
    return question


def test_registered():
    assert FilterModule().filters()["awx_survey_errors"] is awx_survey_errors


def test_a_good_survey_has_no_error():
    assert awx_survey_errors([
        q(min=1, max=20),
        q(variable="deploy_serial", type="integer", default=1, min=1, max=9),
        q(variable="ratio", type="float", default=1),
        q(variable="pick", type="multiplechoice", choices=["false", "true"], default="false"),
        q(variable="many", type="multiselect", choices="a\nb\nc", default="a\nc"),
        q(variable="secret", type="password", required=False),
    ]) == []


@pytest.mark.parametrize("question, expected", [
    ({"type": "text", "variable": "x", "required": True}, "question x: 'question_name' is missing"),
    (q(required="yes"), "'required' must be a boolean"),
    (q(type="boolean"), "type 'boolean' is not one of float, integer, multiplechoice"),
    (q(type="integer", default="1"), "the default '1' is not of the question's type (integer)"),
    (q(type="integer", default=True), "the default True is not of the question's type (integer)"),
    (q(min="1"), "'min' must be an integer, found '1'"),
    (q(type="multiplechoice"), "a multiplechoice question needs choices"),
    (q(type="multiplechoice", choices=["a", "b"], default="c"), "the default 'c' is not among the choices ['a', 'b']"),
    (q(type="multiplechoice", choices=["a", "b"], default="a\nb"), "a multiplechoice question has one default"),
    (q(type="text", default="$encrypted$"), "$encrypted$ is reserved"),
])
def test_what_awx_refuses_is_named(question, expected):
    errors = awx_survey_errors([question], name="deploy")
    assert len(errors) == 1 and errors[0].startswith("survey deploy, question "), errors
    assert expected in errors[0]


def test_a_variable_asked_twice():
    assert awx_survey_errors([q(), q(question_name="Again")]) == [
        "survey survey, question app_version: the variable 'app_version' is asked twice"]


def test_not_a_list():
    with pytest.raises(AnsibleFilterError, match="expects a list"):
        awx_survey_errors({"spec": []})
