#!/bin/sh
# Lists commit subjects since the given tag, oldest first.
git log --reverse --format='%s' "${1:?tag}..HEAD"
