# Installs the system packages gossip-node builds against, when they are missing.
# Sourced by scripts/test, scripts/run, scripts/bench.
ensure_deps() {
    local missing=()
    for pkg in libsodium-dev libsqlite3-dev pkg-config "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "error: missing packages ${missing[*]} and no apt-get; install them with your package manager" >&2
            return 1
        fi
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        echo "installing ${missing[*]}" >&2
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
    fi
}
