# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local emulator of the Microsoft Defender for Endpoint API and its Entra ID token endpoint.

Test-only: it generates its own CA, keys and secrets. See ../README.md.
"""

__version__ = "0.1.0"
