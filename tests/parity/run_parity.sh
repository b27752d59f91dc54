#!/bin/sh
# CTest entry point of the PyTorch parity tests: finds a Python that can `import torch` and runs a
# parity script with it; exits 77 (CTest SKIP_RETURN_CODE) when there is none.
# Usage: run_parity.sh [SCRIPT.py] PATH/TO/swarmformer [script options]
#   SCRIPT.py: a script in this folder (default test_parity.py, the original variant;
#   test_parity_enhanced.py is the enhanced variant, test_training_parity.py the training steps).
# SF_PARITY_PYTHON=/path/to/python forces the interpreter.
here=$(cd "$(dirname "$0")" && pwd)
script=test_parity.py
case "${1:-}" in
  *.py) script=$1; shift ;;
esac
if [ $# -lt 1 ]; then
  echo "usage: $0 [SCRIPT.py] PATH/TO/swarmformer [--workdir DIR]" >&2
  exit 2
fi
if [ ! -f "$here/$script" ]; then
  echo "parity: no script $here/$script (the scripts are test_parity.py, test_parity_enhanced.py and test_training_parity.py)" >&2
  exit 2
fi

for candidate in "${SF_PARITY_PYTHON:-}" /usr/bin/python3 python3 python; do
  [ -n "$candidate" ] || continue
  command -v "$candidate" >/dev/null 2>&1 || continue
  if "$candidate" -c "import torch" >/dev/null 2>&1; then
    exec "$candidate" "$here/$script" "$@"
  fi
  if [ -n "${SF_PARITY_PYTHON:-}" ] && [ "$candidate" = "$SF_PARITY_PYTHON" ]; then
    echo "parity: SF_PARITY_PYTHON=$SF_PARITY_PYTHON cannot import torch" >&2
    exit 1
  fi
done

echo "parity: SKIPPED, no Python interpreter with torch found (tried \$SF_PARITY_PYTHON, /usr/bin/python3, python3, python); install Debian's python3-torch"
exit 77
