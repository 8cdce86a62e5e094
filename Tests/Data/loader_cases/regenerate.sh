#!/usr/bin/env bash
# Rewrites the loader cases in this directory from the C tables that define them:
# Tests/C/test_abi_bad_calls.c (the bad-call table's load entries and the valid rebuilds ->
# safetensors.tsv) and Tests/C/test_mesh_abi.c (the malformed mesh files -> mesh.tsv).
# Tests/LaminaTests/IO/LoaderCaseTests.swift and bindings/python/tests/test_loader_cases.py
# load every file listed in the two manifests and expect its status.
# Usage, from anywhere: bash Tests/Data/loader_cases/regenerate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
make build/tests/test_abi_bad_calls build/tests/test_mesh_abi
find "$here" -maxdepth 1 -type f ! -name regenerate.sh -delete
cd build
LAMINA_WRITE_LOADER_CASES="$here" ./tests/test_abi_bad_calls >/dev/null
LAMINA_WRITE_LOADER_CASES="$here" ./tests/test_mesh_abi >/dev/null
echo "loader cases: $(grep -vc '^#' "$here/safetensors.tsv") safetensors, $(grep -vc '^#' "$here/mesh.tsv") mesh files in $here"
