#!/bin/sh
# Fake actions/runner run-helper.sh: runs the Listener and maps its exit code for run.sh.
user_id=$(id -u)
if [ "$user_id" -eq 0 ] && [ -z "$RUNNER_ALLOW_RUNASROOT" ]; then
  echo "Must not run with sudo"
  exit 1
fi
cd "$(dirname "$0")" || exit 1
# Background + wait so INT/TERM reach the Listener (run.sh forwards them here with RUNNER_MANUALLY_TRAP_SIG).
./bin/Runner.Listener run "$@" &
LPID=$!
trap 'kill -TERM $LPID 2>/dev/null' INT TERM
wait $LPID
code=$?
while kill -0 $LPID 2>/dev/null; do wait $LPID; code=$?; done
case $code in
  0) echo "Runner listener exit with 0 return code, stop the service, no retry needed."; exit 0 ;;
  1) echo "Runner listener exit with terminated error, stop the service, no retry needed."; exit 0 ;;
  2) echo "Runner listener exit with retryable error, re-launch runner in 5 seconds."; sleep 5; exit 2 ;;
  3|4)
    echo "Runner listener exit because of updating, re-launch runner after successful update"
    i=0
    while [ $i -lt 30 ] && [ ! -f update.finished ]; do sleep 1; i=$((i+1)); done
    exit 2 ;;
  5) echo "Runner listener exit with Session Conflict error, stop the service, no retry needed."; exit 0 ;;
  7) echo "Runner listener exit with deprecated version error, stop the service, no retry needed."; exit 7 ;;
  *) echo "Exiting with unknown error code: ${code}"; exit 0 ;;
esac
