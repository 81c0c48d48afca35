#!/bin/sh
# Fake actions/runner config.sh: same root check and env.sh step as the real one.
user_id=$(id -u)
if [ "$user_id" -eq 0 ] && [ -z "$RUNNER_ALLOW_RUNASROOT" ]; then
  echo "Must not run with sudo"
  exit 1
fi
cd "$(dirname "$0")" || exit 1
. ./env.sh
if [ "$1" = "remove" ]; then
  shift
  exec ./bin/Runner.Listener remove "$@"
fi
exec ./bin/Runner.Listener configure "$@"
