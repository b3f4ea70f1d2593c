# Functions the install scripts share; sourced, not run.

# apt_missing LABEL PKG...: installs those of the Debian packages that are missing (none
# when all are there), without recommended extras.
apt_missing() {
  local label=$1 p
  shift
  local missing=()
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]})); then
    echo "$label: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# make_venv LABEL DIR: a virtual environment in DIR that sees Debian's Python modules
# (psycopg, rrdtool), made once, and kept out of the repository.
make_venv() {
  local label=$1 venv=$2
  if [ ! -x "$venv/bin/python" ]; then
    echo "$label: python3 -m venv --system-site-packages $venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
  fi
  [ -f "$venv/.gitignore" ] || echo '*' >"$venv/.gitignore"
}
