# -*- coding: utf-8 -*-
# Copyright: launchbay maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: awx_survey_errors
short_description: What AWX would refuse in a job template's survey questions
version_added: 0.2.0
description:
  - Checks survey questions by the rules AWX's API applies when a survey spec is saved, so that a wrong
    question stops before anything is sent to the controller.
  - Every question needs C(type), C(question_name), C(variable) (strings) and C(required) (a boolean);
    variables are unique; the type is one AWX knows; a default has the question's type; C(min) and
    C(max) are integers; a choice question lists its choices and its default is one of them (one only
    for C(multiplechoice)); C($encrypted$) is no default for a new question.
options:
  _input:
    description: The survey's questions (the C(spec) list of a survey spec).
    type: list
    elements: dict
    required: true
  name:
    description: Name of the survey or job template, used in the messages.
    type: str
    default: survey
author: launchbay maintainers
"""

EXAMPLES = r"""
- name: Stop on a survey AWX would refuse
  ansible.builtin.assert:
    that: errors | length == 0
    fail_msg: "{{ errors | join('; ') }}"
  vars:
    errors: "{{ questions | launchbay.webstack.awx_survey_errors(name='deploy') }}"
"""

RETURN = r"""
_value:
  description: One message per problem, naming the survey, the question and the field; empty when AWX would accept it.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

# question type -> the types its default may have
TYPES = {
    "text": (str,),
    "textarea": (str,),
    "password": (str,),
    "multiplechoice": (str,),
    "multiselect": (str,),
    "integer": (int,),
    "float": (float, int),
}


def _choices(value):
    if isinstance(value, str):
        return [line for line in value.splitlines() if line.strip()]
    return list(value) if isinstance(value, (list, tuple)) else None


def _question_errors(where, question):
    errors = []
    for field, kind, label in (("type", str, "a string"), ("question_name", str, "a string"),
                               ("variable", str, "a string"), ("required", bool, "a boolean")):
        if field not in question:
            errors.append("%s: '%s' is missing" % (where, field))
        elif not isinstance(question[field], kind):
            errors.append("%s: '%s' must be %s, found %r" % (where, field, label, question[field]))
    qtype = question.get("type")
    if isinstance(qtype, str) and qtype not in TYPES:
        errors.append("%s: type '%s' is not one of %s" % (where, qtype, ", ".join(sorted(TYPES))))
        return errors
    default = question.get("default", "")
    if qtype in TYPES and default != "" and (not isinstance(default, TYPES[qtype]) or isinstance(default, bool)):
        errors.append("%s: the default %r is not of the question's type (%s)" % (where, default, qtype))
    for key in ("min", "max"):
        value = question.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            errors.append("%s: '%s' must be an integer, found %r" % (where, key, value))
    if qtype in ("multiplechoice", "multiselect"):
        choices = _choices(question.get("choices"))
        if not choices:
            errors.append("%s: a %s question needs choices" % (where, qtype))
        elif default != "":
            defaults = _choices(default)
            if qtype == "multiplechoice" and len(defaults) > 1:
                errors.append("%s: a multiplechoice question has one default, found %r" % (where, default))
            wrong = [d for d in defaults if d not in choices]
            if wrong:
                errors.append("%s: the default %s is not among the choices %s" % (where, ", ".join(map(repr, wrong)), choices))
    if isinstance(default, str) and default.startswith("$encrypted$"):
        errors.append("%s: $encrypted$ is reserved for a password already stored in the controller" % where)
    return errors


def awx_survey_errors(questions, name="survey"):
    if not isinstance(questions, list):
        raise AnsibleFilterError("awx_survey_errors expects a list of questions, got %s" % type(questions).__name__)
    errors, seen = [], set()
    for index, question in enumerate(questions):
        label = question.get("variable", index) if isinstance(question, dict) else index
        where = "survey %s, question %s" % (name, label)
        if not isinstance(question, dict):
            errors.append("%s: not a mapping" % where)
            continue
        errors.extend(_question_errors(where, question))
        variable = question.get("variable")
        if variable in seen:
            errors.append("%s: the variable '%s' is asked twice" % (where, variable))
        seen.add(variable)
    return errors


class FilterModule(object):
    def filters(self):
        return {"awx_survey_errors": awx_survey_errors}
