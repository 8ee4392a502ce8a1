#!/bin/sh
# hide-dir.sh DIR COMMAND...: runs COMMAND with DIR covered by an empty tmpfs. Started under
# `unshare -m --propagation private`, so only COMMAND sees the cover: a cluster job that must
# not see the project's checkout (ship: bundle), on a one-machine cluster where it would.
set -eu
dir=$1
shift
mount -t tmpfs sabuild-hidden "$dir"
exec "$@"
