#!/bin/sh
# Fake actions/runner run.sh: loop on run-helper.sh while it asks for a restart (2).
cd "$(dirname "$0")" || exit 1
if [ -n "$RUNNER_MANUALLY_TRAP_SIG" ]; then
  ./run-helper.sh "$@" &
  PID=$!
  # A background job has INT ignored in a non-interactive shell, so forward TERM.
  trap 'kill -TERM $PID 2>/dev/null' INT TERM
fi
while :; do
  if [ -n "$RUNNER_MANUALLY_TRAP_SIG" ]; then
    wait $PID
    code=$?
    # wait returns >128 when a trapped signal interrupts it; wait again for the real code
    while kill -0 $PID 2>/dev/null; do wait $PID; code=$?; done
  else
    ./run-helper.sh "$@"
    code=$?
  fi
  case $code in
    2)
      echo "Restarting runner..."
      if [ -n "$RUNNER_MANUALLY_TRAP_SIG" ]; then ./run-helper.sh "$@" & PID=$!; fi
      ;;
    *) echo "Exiting runner..."; exit $code ;;
  esac
done
