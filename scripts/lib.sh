# Shared helpers for Vaarta's setup scripts. Source it; do not run it.
# Every function is idempotent and quiet when there is nothing to do.

VAARTA_ROOT="${VAARTA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

say() { printf '[setup] %s\n' "$*" >&2; }

# need_apt PKG...: install the Debian packages that are missing.
need_apt() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ ! -f /tmp/.vaarta-apt-updated ]; then
    $sudo apt-get update -qq >/dev/null && touch /tmp/.vaarta-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# venv_python: the project's Python virtual environment (created on first use) for test peers
# and model downloads. Prints the path of its python.
venv_python() {
  local venv="$VAARTA_ROOT/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating Python virtual environment in .venv"
    python3 -m venv "$venv" >/dev/null
    "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  fi
  printf '%s\n' "$venv/bin/python"
}

# need_pip PKG==VER...: install PyPI packages into .venv when missing.
need_pip() {
  local py; py=$(venv_python)
  local missing=()
  local spec name
  for spec in "$@"; do
    name=${spec%%[=<>]*}
    "$py" -m pip show -q "$name" >/dev/null 2>&1 || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Python packages: ${missing[*]}"
  "$py" -m pip install -q "${missing[@]}" >/dev/null
}
