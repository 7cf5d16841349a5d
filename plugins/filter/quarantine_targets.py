# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quarantine_targets filter of the quarantine_file role (implemented with the others in quarantine_report.py)."""

from __future__ import annotations

from ansible_collections.secops.defender.plugins.filter.quarantine_report import quarantine_targets

DOCUMENTATION = r"""
name: quarantine_targets
author: secops.defender contributors (@secops)
version_added: 2.0.0
short_description: The target devices of the quarantine_file role, from its inputs and its device look-ups
description:
- Merges the device ids given, the devices found by name and the devices that have seen the file (each once), and returns
  the errors that must stop the run before any action is sent, each naming the variable the user set. They are an ambiguous
  name (with every candidate), an unknown name, a failed look-up, and more devices than C(max_machines).
positional: _input
options:
  _input:
    description: The result of P(secops.defender.quarantine_inputs#filter).
    type: dict
    required: true
  by_name:
    description:
    - The registered result of M(secops.defender.defender_machine_info) with O(secops.defender.defender_machine_info#module:name)
      (run with C(failed_when=false)), or a skipped result.
    type: dict
  seen:
    description:
    - The registered result of M(secops.defender.defender_machine_info) with O(secops.defender.defender_machine_info#module:sha1),
      or a skipped result.
    type: dict
  names:
    description: How messages name each input (see P(secops.defender.quarantine_inputs#filter)).
    type: dict
"""

EXAMPLES = r"""
- name: Gather the target devices
  ansible.builtin.set_fact:
    targets: "{{ checked | secops.defender.quarantine_targets(by_name=by_name, seen=seen) }}"
"""

RETURN = r"""
_value:
  description: The targets.
  type: dict
  contains:
    machine_ids:
      description: Every target device id, lower case, each once, in the order given.
      type: list
      elements: str
    names:
      description: Device id to name, for the devices the look-ups returned.
      type: dict
    errors:
      description: Why the run must stop before sending anything; empty when it may go on.
      type: list
      elements: str
"""


class FilterModule:
    """One filter per file, so that its documentation sits next to it."""

    def filters(self):
        return {"quarantine_targets": quarantine_targets}
