# Sourced by the set-up scripts: install the Debian packages they need.
#
#   install_debian_packages TAG "WHY" "AGAIN" PACKAGE...
#
# As root, missing packages are installed with apt-get; otherwise the exact command is printed
# ("[TAG] WHY need Debian packages that are missing. Run: ... then run AGAIN again.") and the
# script stops.
install_debian_packages() {
  local tag=$1 why=$2 again=$3
  shift 3
  local missing="" p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "[$tag] installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "[$tag] $why need Debian packages that are missing. Run:" >&2
    echo "    sudo apt-get install -y$missing" >&2
    echo "then run $again again." >&2
    exit 1
  fi
}
