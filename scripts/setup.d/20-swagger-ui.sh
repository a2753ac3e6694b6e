#!/usr/bin/env bash
# Swagger UI assets for `GET /docs` (served from disk, so the explorer works offline), from the
# swagger-ui-dist npm package, into api/assets/vendor/swagger-ui (git-ignored).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
version=5.35.0
dest="$VAARTA_ROOT/api/assets/vendor/swagger-ui"
stamp="$dest/.version"
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -f "$dest/swagger-ui-bundle.js" ] && exit 0
command -v npm >/dev/null || need_apt npm
say "fetching swagger-ui-dist $version for /docs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "swagger-ui-dist@$version" >/dev/null 2>&1 )
tar -xzf "$tmp"/swagger-ui-dist-*.tgz -C "$tmp"
rm -rf "$dest"
mkdir -p "$dest"
for f in swagger-ui-bundle.js swagger-ui.css swagger-ui-standalone-preset.js favicon-16x16.png favicon-32x32.png LICENSE; do
  [ -f "$tmp/package/$f" ] && cp "$tmp/package/$f" "$dest/"
done
echo "$version" > "$stamp"
