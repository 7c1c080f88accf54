# Sourced (not executed) by every hooks/<event> file, so that $0 still names
# the hook: hands the event to the bundled CLI.

hook_name=${0##*/}
charm_dir=${JUJU_CHARM_DIR:-${CHARM_DIR:-$(cd "$(dirname "$0")/.." && pwd)}}

if ! command -v node >/dev/null 2>&1; then
  case $hook_name in
    stop | remove)
      # A unit whose install failed must still be removable.
      echo "$hook_name: Node.js is not installed, nothing to clean up" >&2
      exit 0
      ;;
  esac
  echo "$hook_name: Node.js is not installed; the install hook has not completed" >&2
  exit 1
fi

exec node "$charm_dir/dist/haproxy-charm.mjs" hook "$hook_name"
