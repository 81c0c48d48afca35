#!/usr/bin/env bash
# One-stop test environment: a Docker engine and the local test images. Idempotent; used by
# .ci/run and by test/helpers/engines.ts when a test runs as root without an engine.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/docker.sh"
"$here/images.sh"
