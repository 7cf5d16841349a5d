# Copyright: Contributors to the secops.defender collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py script that ansible-test downloads.

ansible-test bootstraps pip in every virtualenv it creates by running
``~/.ansible/test/cache/get_pip_<version>.py`` and downloads that file from an
Ansible CI host when it is missing. That host is not reachable from our machines, so
``make`` copies this file there instead (see tests/utils/install_get_pip_standin.sh).

It is run as ``python get_pip_X_Y.py --disable-pip-version-check pip==X.Y
--no-setuptools --no-wheel`` (through ansible-test's quiet_pip.py). Like the real
get-pip.py it installs the requested pip; it takes the pip that runs the install from
the interpreter's own ``ensurepip`` wheel instead of an embedded copy, and fetches the
requested version from the package index the machine is configured for.
"""

from __future__ import annotations

import glob
import os
import re
import runpy
import sys
import sysconfig

# Options of the real get-pip.py that plain "pip install" does not know.
_GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')


def _version_key(path):
    match = re.search(r'pip-([0-9.]+)-', os.path.basename(path))
    return tuple(int(part) for part in match.group(1).split('.') if part.isdigit()) if match else ()


def bundled_pip_wheel():
    """Return the newest pip wheel shipped with this interpreter's ensurepip."""
    stdlib = sysconfig.get_paths()['stdlib']
    wheels = glob.glob(os.path.join(stdlib, 'ensurepip', '_bundled', 'pip-*.whl'))
    if not wheels:
        sys.exit('get_pip stand-in: no ensurepip pip wheel under %s' % stdlib)
    return sorted(wheels, key=_version_key)[-1]


def main():
    args = [arg for arg in sys.argv[1:] if arg not in _GET_PIP_ONLY_OPTIONS]
    if not any(arg.startswith('pip') for arg in args if not arg.startswith('-')):
        args.append('pip')
    # pip can run straight from its wheel (zipimport), as ensurepip itself does.
    sys.path.insert(0, bundled_pip_wheel())
    sys.argv = ['pip', 'install', '--upgrade', '--force-reinstall', '--no-warn-script-location'] + args
    runpy.run_module('pip', run_name='__main__', alter_sys=True)


if __name__ == '__main__':
    main()
