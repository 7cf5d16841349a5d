# Copyright: Contributors to the secops.defender collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mirror the checkout into build/collections/ansible_collections/secops/defender.

    python sync_collection.py SOURCE_DIR DEST_DIR

ansible-test must run from a directory inside ``ansible_collections/<ns>/<name>``. A symlink
to the checkout is not enough: ``os.getcwd()`` resolves it, and ``ansible-test --venv``
then hands the resolved path (outside ``ansible_collections``) to its delegated run. So the
Makefile keeps a real copy, refreshed before every step (only changed files are copied).

The files copied are those git knows or would add (``git ls-files -co --exclude-standard``),
so .gitignore'd output never enters the copy; without git, everything but the usual
generated directories. Files in the copy that are no longer in the checkout are removed,
except ansible-test's own output.

The copy gets a git repository of its own (no commits): ansible-test looks for ``.git``
upwards from the collection and would otherwise find the checkout's, where build/ is
ignored, and test nothing. In an empty repository every file is "untracked", which
ansible-test lists (``git ls-files --others --exclude-standard``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# Never copied from the checkout, never deleted from the copy.
GENERATED = ('.git/', '.venv/', 'build/', 'tests/output/', '.ansible/', '.pytest_cache/', '.hypothesis/')
KEEP_IN_DEST = ('.git/', 'tests/output/', '.ansible/', 'tests/integration/integration_config.yml',
                'tests/integration/inventory')


def source_files(source):
    try:
        out = subprocess.run(['git', '-C', source, 'ls-files', '-z', '-co', '--exclude-standard'],
                             check=True, capture_output=True).stdout
        files = [name for name in out.decode('utf-8', 'surrogateescape').split('\0') if name]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(source):
            rel_root = os.path.relpath(root, source)
            rel_root = '' if rel_root == '.' else rel_root + '/'
            dirs[:] = [d for d in dirs if not (rel_root + d + '/').startswith(GENERATED) and d != '__pycache__']
            files.extend(rel_root + name for name in names)
    return sorted(name for name in files
                  if not name.startswith(GENERATED) and '__pycache__/' not in name
                  and os.path.lexists(os.path.join(source, name)))


def same(src, dst):
    try:
        a, b = os.lstat(src), os.lstat(dst)
    except FileNotFoundError:
        return False
    return a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime) and a.st_mode == b.st_mode


def copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.islink(dst) or (os.path.exists(dst) and os.path.islink(src)):
        os.unlink(dst)
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    else:
        shutil.copy2(src, dst)


def sync(source, dest):
    wanted = source_files(source)
    copied = 0
    for name in wanted:
        src, dst = os.path.join(source, name), os.path.join(dest, name)
        if not same(src, dst):
            copy(src, dst)
            copied += 1
    wanted_set = set(wanted)
    removed = 0
    for root, dirs, names in os.walk(dest, topdown=False):
        rel_root = os.path.relpath(root, dest)
        rel_root = '' if rel_root == '.' else rel_root + '/'
        if rel_root.startswith(KEEP_IN_DEST):
            continue
        for name in names:
            rel = rel_root + name
            if rel not in wanted_set and not rel.startswith(KEEP_IN_DEST) and '__pycache__/' not in rel:
                os.unlink(os.path.join(root, name))
                removed += 1
        if rel_root and not os.listdir(root):
            os.rmdir(root)
    return copied, removed


def main():
    source, dest = (os.path.abspath(path) for path in sys.argv[1:3])
    if os.path.islink(dest):
        os.unlink(dest)  # an older layout was a symlink
    os.makedirs(dest, exist_ok=True)
    copied, removed = sync(source, dest)
    if not os.path.exists(os.path.join(dest, '.git')):
        subprocess.run(['git', 'init', '--quiet', dest], check=False)
    if copied or removed:
        print('layout: %s (%d copied, %d removed)' % (os.path.relpath(dest, source), copied, removed))


if __name__ == '__main__':
    main()
