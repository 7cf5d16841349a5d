# Copyright: Contributors to the secops.defender collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count the tests a `make` step ran, from its log, for the summary of `make test`.

    python count_results.py LOG EXIT_CODE   ->  prints "PASSED FAILED SKIPPED"

Understood: pytest's closing line (also inside ansible-test units), ansible-test sanity
("Running sanity test ...", "The N sanity test(s) listed below (out of M) failed"),
ansible-test integration ("Running X integration test role") and the "CHECK PASSED|FAILED|
SKIPPED: name" lines of tests/utils/release_checks.sh. A log with none of these prints
"0 0 0"; the caller decides what that means.
"""

from __future__ import annotations

import re
import sys

ANSI = re.compile(r'\x1b\[[0-9;]*m')
PYTEST_SUMMARY = re.compile(r'^=+ (.*\b(?:passed|failed|skipped|error|errors|no tests ran)\b.*) in [0-9.]+s\b.*=+$')
PYTEST_COUNT = re.compile(r'(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)')
SANITY_RUN = re.compile(r'^Running sanity test [\'"][^\'"]+[\'"]')
SANITY_FAILED = re.compile(r'^(?:ERROR|FATAL): The (\d+) sanity test\(s\) listed below \(out of \d+\) failed')
SANITY_SKIPPED = re.compile(r'^WARNING: Skipping sanity test [\'"]')
INTEGRATION_RUN = re.compile(r'^Running \S+ integration test role')
CHECK = re.compile(r'^CHECK (PASSED|FAILED|SKIPPED): ')


def count(lines, exit_code):
    passed = failed = skipped = 0
    sanity_run = sanity_failed = integration_run = 0
    for raw in lines:
        line = ANSI.sub('', raw).rstrip()
        match = PYTEST_SUMMARY.match(line)
        if match:
            for number, kind in PYTEST_COUNT.findall(match.group(1)):
                if kind in ('passed', 'xpassed'):
                    passed += int(number)
                elif kind in ('failed', 'error', 'errors'):
                    failed += int(number)
                else:
                    skipped += int(number)
            continue
        if SANITY_RUN.match(line):
            sanity_run += 1
        elif SANITY_SKIPPED.match(line):
            skipped += 1
        elif INTEGRATION_RUN.match(line):
            integration_run += 1
        else:
            match = SANITY_FAILED.match(line) or CHECK.match(line)
            if match and match.re is SANITY_FAILED:
                sanity_failed += int(match.group(1))
            elif match:
                kind = match.group(1)
                passed += kind == 'PASSED'
                failed += kind == 'FAILED'
                skipped += kind == 'SKIPPED'
    passed += max(sanity_run - sanity_failed, 0)
    failed += sanity_failed
    if integration_run:
        # ansible-test stops at the first failing target.
        broken = 1 if exit_code else 0
        passed += integration_run - broken
        failed += broken
    return passed, failed, skipped


def main():
    with open(sys.argv[1], encoding='utf-8', errors='replace') as handle:
        result = count(handle, int(sys.argv[2]))
    print('%d %d %d' % result)


if __name__ == '__main__':
    main()
