# Sourced by the install scripts: apt_install TOOL PACKAGE… installs the Debian packages that are not
# installed yet (idempotent; root or sudo; the package lists updated only when apt does not know one).
# Returns with the list of what was missing in $apt_missing (empty when all were present).
apt_install() {
  local tool=$1; shift
  apt_missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || apt_missing+=("$p")
  done
  [ ${#apt_missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { echo "$tool: apt-get not found; install ${apt_missing[*]} by hand" >&2; exit 1; }
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "$tool: installing ${apt_missing[*]} needs root (apt-get); run this script as root" >&2; exit 1; }
    sudo=sudo
  fi
  echo "$tool: installing ${apt_missing[*]}"
  if ! apt-cache show "${apt_missing[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -q || { echo "$tool: apt-get update failed" >&2; exit 1; }
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${apt_missing[@]}" \
    || { echo "$tool: apt-get install ${apt_missing[*]} failed" >&2; exit 1; }
}
