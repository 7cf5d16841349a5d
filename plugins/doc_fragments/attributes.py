# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Attributes shared by the collection's modules."""

    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/secops.defender.defender) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - secops.defender.defender
"""

    CHECK_MODE_FULL = r"""
attributes:
  check_mode:
    support: full
    description: Every read runs; no write is sent; C(changed) is what a real run would report.
"""

    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    description: This module only reads; it runs the same way in check mode.
  diff_mode:
    support: N/A
    description: This module only reads and has no diff.
"""

    DIFF_NONE = r"""
attributes:
  diff_mode:
    support: none
    description: This module does not return a diff.
"""
