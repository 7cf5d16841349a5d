# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quarantine_report_csv filter of the quarantine_file role (implemented with the others in quarantine_report.py)."""

from __future__ import annotations

from ansible_collections.secops.defender.plugins.filter.quarantine_report import quarantine_report_csv

DOCUMENTATION = r"""
name: quarantine_report_csv
author: secops.defender contributors (@secops)
version_added: 2.0.0
short_description: The quarantine_file report as CSV, one row per device
description:
- Renders a report made by P(secops.defender.quarantine_report#filter) as CSV text with the header
  C(device_id,device_name,action_id,status,error,started,finished), one row per device, for a ticket or an evidence
  locker.
- C(error) is the error code, a colon and the message for a device that failed, else empty. A cell that a spreadsheet would
  read as a formula (starting with C(=), C(+), C(-) or C(@)) is prefixed with a single quote.
positional: _input
options:
  _input:
    description: The report.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the report for the ticket
  ansible.builtin.copy:
    content: "{{ defender_quarantine_report | secops.defender.quarantine_report_csv }}"
    dest: /var/evidence/INC-4711.csv
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The CSV text, lines ending with a line feed.
  type: str
"""


class FilterModule:
    """One filter per file, so that its documentation sits next to it."""

    def filters(self):
        return {"quarantine_report_csv": quarantine_report_csv}
