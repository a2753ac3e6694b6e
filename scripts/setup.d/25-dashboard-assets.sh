#!/usr/bin/env bash
# uPlot (a small charting library) for `GET /dashboard`, from the npm registry at setup time into
# api/assets/vendor/uplot (git-ignored): the dashboard never loads anything from a CDN.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
version=1.6.32
dest="$VAARTA_ROOT/api/assets/vendor/uplot"
stamp="$dest/.version"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -f "$dest/uPlot.iife.min.js" ] && exit 0
command -v npm >/dev/null || need_apt npm
say "fetching uplot $version for /dashboard"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "uplot@$version" >/dev/null 2>&1 )
tar -xzf "$tmp"/uplot-*.tgz -C "$tmp"
rm -rf "$dest"
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dest/"
echo "$version" > "$stamp"
