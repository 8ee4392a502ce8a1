#!/usr/bin/env bash
# A test runner reports on the code; it never edits it. Passes when the workspace has no change
# against the commit the task started from (git status lists nothing).
set -u
changes="$(git status --porcelain)"
if [ -n "$changes" ]; then
  echo "the workspace was changed:"
  echo "$changes"
  exit 1
fi
echo "workspace unchanged"
