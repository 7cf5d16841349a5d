# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quarantine_inputs filter of the quarantine_file role (implemented with the others in quarantine_report.py)."""

from __future__ import annotations

from ansible_collections.secops.defender.plugins.filter.quarantine_report import quarantine_inputs

DOCUMENTATION = r"""
name: quarantine_inputs
author: secops.defender contributors (@secops)
version_added: 2.0.0
short_description: Check and normalize the inputs of the quarantine_file role
description:
- Checks every input of the role C(secops.defender.quarantine_file) strictly, before anything is sent, and returns them normalized
  (a lower-case SHA-1, lists from comma-separated text, real booleans, numbers).
- Booleans accept only C(true)/C(false), C(yes)/C(no), C(on)/C(off), C(1)/C(0) (any case). C(ture) is an error, not C(false)
  as with the C(bool) filter.
- Each problem is one message in RV(_value.errors) that names the variable the user set (see O(names)), for example C(-e machine_names)
  in a command-line playbook.
- The role calls it; playbooks that wrap the role call it on their own variables first.
positional: _input
options:
  _input:
    description:
    - The inputs, by their short name (the role's variable without C(quarantine_file_)) C(sha1), C(comment), C(machine_ids),
      C(machine_names), C(everywhere_seen), C(wait), C(wait_timeout), C(poll_interval), C(batch_size), C(max_machines), C(skip_if_succeeded_within),
      C(block_everywhere), C(indicator_title), C(dry_run), C(fail_on_error), C(stamp_job), C(report_path), and C(job_id)/C(job_template_name)
      (the AWX job, from C(awx_job_id) or C(tower_job_id)).
    - Keys left out are neither checked nor returned; C(none) means "not given".
    type: dict
    required: true
  names:
    description:
    - How messages name each input, by short name. For example C(machine_names) mapped to C(-e machine_names) makes messages
      say C(-e machine_names); inputs not listed are named by the role's variable (C(quarantine_file_machine_names)).
    type: dict
"""

EXAMPLES = r"""
- name: Check what was given on the command line
  ansible.builtin.set_fact:
    checked: >-
      {{ {'sha1': sha1 | default(none), 'comment': comment | default(none), 'dry_run': dry_run | default(false),
          'machine_names': machine_names | default([]), 'machine_ids': [], 'everywhere_seen': false}
         | secops.defender.quarantine_inputs(names={'sha1': '-e sha1', 'comment': '-e comment', 'dry_run': '-e dry_run',
                                                    'machine_names': '-e machine_names'}) }}

- name: Stop before anything is sent
  ansible.builtin.assert:
    that: checked.errors == []
    fail_msg: "{{ checked.errors | join(' ') }}"
"""

RETURN = r"""
_value:
  description:
  - The inputs that were given, normalized, plus RV(_value.errors), RV(_value.comment_sent) and RV(_value.job).
  - C(report_path) becomes a dict with the file names C(json) (C(<path>.json)) and C(csv) (C(<path>.csv)), or C(none). C(skip_if_succeeded_within)
    is a duration text, C(0) to force new actions.
  type: dict
  contains:
    errors:
      description: One message per problem; empty when every input is good.
      type: list
      elements: str
    comment_sent:
      description: The comment sent with each action, with C((AWX job <id>)) appended when a job id was given and C(stamp_job)
        is not false.
      type: str
    job:
      description: The AWX / Automation Platform job (C(id), C(template_name)), or C(none).
      type: dict
"""


class FilterModule:
    """One filter per file, so that its documentation sits next to it."""

    def filters(self):
        return {"quarantine_inputs": quarantine_inputs}
