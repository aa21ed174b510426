#!/usr/bin/env bash
# Prints the path of a working FerretDB binary, building it from the Go module proxy if needed:
# v1.24.2 where the proxy serves it, else v1.24.1. The module's zip lacks the generated
# build/version/version.txt, without which the binary panics at start, so the source is fetched
# with `go mod download`, given that file, and built. A binary already built for the version
# wanted is reused (FERRETDB_BIN names one to use as it is).
set -euo pipefail
if [ -n "${FERRETDB_BIN:-}" ]; then
  "$FERRETDB_BIN" --version >/dev/null
  echo "$FERRETDB_BIN"
  exit 0
fi
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
DIR="$HOME/go/bin"
mkdir -p "$DIR"
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
for version in v1.24.2 v1.24.1; do
  BIN="$DIR/ferretdb-$version"
  if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "version: $version"; then
    echo "$BIN"
    exit 0
  fi
  dir=$(cd "$work" && go mod download -json "github.com/FerretDB/FerretDB@$version" 2>/dev/null \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "FerretDB $version is not served here, trying the next" >&2; continue; }
  cp -r "$dir" "$work/src-$version" && chmod -R u+w "$work/src-$version"
  [ -s "$work/src-$version/build/version/version.txt" ] || echo "$version" > "$work/src-$version/build/version/version.txt"
  echo "building FerretDB $version (takes a few minutes the first time)" >&2
  (cd "$work/src-$version" && go build -o "$BIN" ./cmd/ferretdb) >&2
  "$BIN" --version >/dev/null
  echo "$BIN"
  exit 0
done
echo "could not build FerretDB from the Go module proxy" >&2
exit 1
