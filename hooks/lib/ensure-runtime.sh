# Sourced by hooks/install and hooks/upgrade-charm before anything else: a
# fresh machine has neither haproxy nor Node.js, and the charm's CLI needs
# both, so these first steps are plain shell.

# The bundled CLI targets the Node.js in Ubuntu 24.04's archive.
required_node_major=18
required_node_minor=19

node_is_recent_enough() {
  node_version=$(node --version 2>/dev/null) || return 1
  node_version=${node_version#v}
  node_major=${node_version%%.*}
  node_rest=${node_version#*.}
  node_minor=${node_rest%%.*}
  case "$node_major:$node_minor" in
    *[!0-9:]* | :* | *:) return 1 ;;
  esac
  [ "$node_major" -gt "$required_node_major" ] ||
    { [ "$node_major" -eq "$required_node_major" ] && [ "$node_minor" -ge "$required_node_minor" ]; }
}

haproxy_is_installed() {
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]
}

ensure_runtime() {
  missing_packages=""
  node_is_recent_enough || missing_packages="nodejs"
  haproxy_is_installed || missing_packages="${missing_packages:+$missing_packages }haproxy"
  [ -n "$missing_packages" ] || return 0

  status-set maintenance "Installing haproxy and Node.js" || true
  # A fresh cloud machine often has unattended-upgrades holding the dpkg
  # lock for a while: wait for it rather than fail.
  # shellcheck disable=SC2086 # the package list is meant to split
  if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q ||
    ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q $missing_packages; then
    echo "Could not install $missing_packages with apt-get; see the messages above." >&2
    exit 1
  fi

  if ! node_is_recent_enough; then
    echo "The charm needs Node.js >= $required_node_major.$required_node_minor, but the archive installed" \
      "'$(node --version 2>/dev/null || echo none)'. Deploy on a base whose archive ships it" \
      "(Ubuntu 24.04 or later) or install a newer Node.js on the machine." >&2
    exit 1
  fi
  if ! haproxy_is_installed; then
    echo "apt-get reported success but haproxy is still not installed." >&2
    exit 1
  fi
}
