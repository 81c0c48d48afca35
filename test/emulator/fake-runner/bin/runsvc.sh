#!/bin/sh
# Like the real runsvc.sh: PATH from .path, then the service wrapper under the bundled node.
if [ -f ".path" ]; then
  PATH=$(cat .path)
  export PATH
fi
./externals/node20/bin/node ./bin/RunnerService.js "$@" &
PID=$!
trap 'kill -INT $PID' TERM INT
wait $PID
code=$?
if kill -0 $PID 2>/dev/null; then wait $PID; code=$?; fi
exit $code
