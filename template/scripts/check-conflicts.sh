#!/usr/bin/env bash
# Fails when an update left merge conflict markers or .rej files in the tracked tree.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
if rejects=$(find . -name '*.rej' -not -path './.git/*' -not -path '*/.venv/*' | grep .); then
  echo "Rejected hunks left by an update (merge them by hand, then delete the files):"
  echo "$rejects"
  status=1
fi
if markers=$(grep -rIlE '^(<<<<<<<|>>>>>>>)( |$)' --exclude-dir=.git --exclude-dir=.venv --exclude-dir=node_modules . ); then
  echo "Conflict markers left by an update:"
  echo "$markers"
  status=1
fi
[ "$status" -eq 0 ] && echo "No conflict markers or .rej files."
exit "$status"
