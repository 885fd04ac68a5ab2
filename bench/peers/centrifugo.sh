#!/usr/bin/env bash
# Centrifugo (github.com/centrifugal/centrifugo), a Go real-time messaging server, is one of the bench's
# peers. There is no prebuilt binary to download here, so it is built once from the Go module proxy
# with `go install` and cached, like the engines: $NATTER_PEERS_CACHE/centrifugo-<version>/centrifugo
# (default ~/.cache/natter/peers). Prints the binary's path on stdout.
#
#   bash bench/peers/centrifugo.sh           build if missing (a few minutes on 2 cores), print the path
#   bash bench/peers/centrifugo.sh --check   print the path if cached, exit 1 if not; never builds
#
# Exit codes: 0 ok, 1 not cached (--check), 3 no Go toolchain, 4 the build failed (its log's tail on stderr).
set -euo pipefail

VERSION=${CENTRIFUGO_VERSION:-v6.9.1}
CACHE=${NATTER_PEERS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/natter/peers}
DIR=$CACHE/centrifugo-$VERSION
BIN=$DIR/centrifugo

if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "Centrifugo $VERSION is not built in $DIR (build it once with: bash bench/peers/centrifugo.sh)" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  echo "no Go toolchain (go) on PATH: cannot build Centrifugo $VERSION from the Go module proxy" >&2
  exit 3
fi

mkdir -p "$DIR"
# Two benches started at once must not build into the same folder.
exec 9>"$DIR/.lock"
flock 9
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi

MAJOR=${VERSION%%.*}  # v6.9.1 -> v6: the module path carries the major version
TMP=$DIR/bin.tmp
rm -rf "$TMP"
echo "building Centrifugo $VERSION with $(go version | cut -d' ' -f3) into $DIR (once; log: $DIR/build.log)" >&2
# -mod=mod: resolve the module's own go.mod from the proxy even if GOFLAGS says otherwise;
# nice: the machine is shared, the build is a background chore.
if ! GOBIN=$TMP GOFLAGS="-mod=mod -buildvcs=false" nice -n 10 \
  go install "github.com/centrifugal/centrifugo/$MAJOR@$VERSION" >"$DIR/build.log" 2>&1; then
  echo "go install github.com/centrifugal/centrifugo/$MAJOR@$VERSION failed; last lines of $DIR/build.log:" >&2
  tail -n 20 "$DIR/build.log" >&2
  rm -rf "$TMP"
  exit 4
fi
mv "$TMP/centrifugo" "$BIN"
rm -rf "$TMP"
echo "$BIN"
