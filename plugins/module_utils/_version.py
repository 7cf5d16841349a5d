# Copyright: (c) 2026, secops.defender contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's version, sent in the User-Agent (kept equal to galaxy.yml by a unit test)."""

from __future__ import annotations

COLLECTION_NAME = "secops.defender"
COLLECTION_VERSION = "2.0.0"
USER_AGENT = f"ansible-collection-{COLLECTION_NAME}/{COLLECTION_VERSION}"
