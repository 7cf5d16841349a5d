#!/usr/bin/env bash
# Secrets never leave: the client secret, the certificate's private key and every access token stay out of
# the -vvvv output, the ansible.log (log_path), fail_json messages, warnings and the emulator's request log.
# Also: validate_certs=false warns, an untrusted server certificate fails with a TLS message, a token cache
# file is 0600.
set -eu

python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export ANSIBLE_LOG_PATH="$work/ansible.log"
export ANSIBLE_NOCOLOR=1
if ! ansible-playbook -i ../../inventory -e @../../integration_config.yml -e "secrets_work=$work" secrets.yml -vvvv "$@" > "$work/output.txt" 2>&1; then
    tail -n 200 "$work/output.txt"
    echo "secrets.yml failed"
    exit 1
fi
grep -E "^(ok|changed|fatal|failed|TASK|\[WARNING\])" "$work/output.txt" | cut -c1-200 || true
"$python" files/check_secrets.py ../../integration_config.yml "$work"
