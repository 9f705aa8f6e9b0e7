"""The awx role's job templates, as the controller would receive them: the role's task
rendered for every template, checked against the awx.awx job_template module's own argument
spec and AWX's survey rules; every survey variable read by the template's playbook; every
playbook present in the example project."""

import os
import re

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.launchbay.webstack.plugins.filter.awx_survey_errors import awx_survey_errors

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLE = os.path.join(REPO, "roles", "awx")
OMIT = "__omit_place_holder__"
LOADER = DataLoader()


def trust(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return dict((k, trust(v)) for k, v in value.items())
    if isinstance(value, list):
        return [trust(v) for v in value]
    return value


def load(*parts):
    return LOADER.load_from_file(os.path.join(ROLE, *parts))


def module_argument_spec(name):
    """The awx.awx module's argument spec, caught where main() hands it to its module class."""
    module = __import__("ansible_collections.awx.awx.plugins.modules." + name, fromlist=["main"])

    class Caught(Exception):
        pass

    class Catcher(object):
        def __init__(self, argument_spec=None, **kwargs):
            raise Caught(argument_spec)

    original = module.ControllerAPIModule
    module.ControllerAPIModule = Catcher
    try:
        module.main()
    except Caught as caught:
        return caught.args[0]
    finally:
        module.ControllerAPIModule = original
    raise AssertionError("main() of %s did not build its module" % name)


def task(name):
    block = [t for t in load("tasks", "main.yml") if "block" in t][0]["block"]
    return [t for t in block if name in t][0]


ENVIRONMENT = {"name": "production", "source_path": "inventories/production", "credentials": ["shop ssh", "shop vault"]}
TEMPLATES = load("vars", "main.yml")["_awx_job_templates"]


def rendered(template):
    jt = task("awx.awx.job_template")
    variables = trust(dict(load("defaults", "main.yml")))
    variables.update(awx_project_scm_url="https://git.example.com/acme/deploy.git", awx_execution_environment_image="r.example.com/ee:1",
                     awx_environments=[ENVIRONMENT], _awx_job_templates=TEMPLATES, item=[ENVIRONMENT, template], omit=OMIT)
    variables.update(trust(jt.get("vars", {})))
    args = Templar(loader=LOADER, variables=variables).template(trust(jt["awx.awx.job_template"]))
    return dict((k, v) for k, v in args.items() if v != OMIT)


def test_the_templates_are_the_playbooks_operators_run():
    assert [t["name"] for t in TEMPLATES] == ["deploy", "rollback", "restore", "backup", "logs", "status"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t["name"])
def test_the_module_accepts_what_the_role_sends(template):
    args = rendered(template)
    result = ArgumentSpecValidator(module_argument_spec("job_template")).validate(args)
    assert not result.error_messages, result.error_messages
    assert args["name"] == "launchbay production: " + template["name"]
    assert args["credentials"] == ENVIRONMENT["credentials"]
    if template["survey"]:
        assert args["survey_enabled"] is True and args["survey_spec"]["spec"] == template["survey"]
    else:
        assert args["survey_enabled"] is False and "survey_spec" not in args


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t["name"])
def test_every_survey_passes_awx_rules(template):
    assert awx_survey_errors(template["survey"], name=template["name"]) == []


def _read_by_playbooks():
    """Non-comment text of the playbooks, the roles' tasks, defaults and argument specs, and the inventories."""
    text = []
    for top in ("playbooks", "roles", "inventories"):
        for dirpath, _dirs, files in os.walk(os.path.join(REPO, top)):
            if os.sep + "awx" in dirpath.replace(REPO, ""):
                continue  # not the awx role itself
            for name in files:
                if name.endswith((".yml", ".yaml", ".j2")):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as handle:
                        text.extend(line.split(" #")[0] for line in handle if not line.lstrip().startswith("#"))
    return "\n".join(text)


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t["survey"]], ids=lambda t: t["name"])
def test_every_survey_variable_is_one_the_collection_reads(template):
    text = _read_by_playbooks()
    for question in template["survey"]:
        assert re.search(r"\b%s\b" % re.escape(question["variable"]), text), question["variable"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t["name"])
def test_the_example_project_has_the_playbook(template):
    path = os.path.join(REPO, "examples", "awx", "project", template["playbook"])
    with open(path, encoding="utf-8") as handle:
        assert "launchbay.webstack." + os.path.basename(path)[:-4] in handle.read()
    assert os.path.exists(os.path.join(REPO, "playbooks", os.path.basename(path)))
