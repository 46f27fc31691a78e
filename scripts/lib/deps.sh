# Installs the system packages gossip-node builds against, when they are missing.
# Sourced by scripts/test, scripts/run, scripts/bench.
ensure_deps() {
    if [ "$(uname -s)" = Darwin ]; then
        # macOS: the libraries from Homebrew (the Linux-only tools, nftables and iproute2, are not needed there).
        local formulae=()
        pkg-config --exists libsodium 2>/dev/null || formulae+=(libsodium)
        pkg-config --exists sqlite3 2>/dev/null || formulae+=(sqlite)
        command -v pkg-config >/dev/null 2>&1 || formulae+=(pkg-config)
        if [ "${#formulae[@]}" -gt 0 ]; then
            if ! command -v brew >/dev/null 2>&1; then
                echo "error: missing ${formulae[*]} and no Homebrew; install https://brew.sh, then: brew install ${formulae[*]}" >&2
                return 1
            fi
            echo "installing ${formulae[*]}" >&2
            brew install "${formulae[@]}" >&2
        fi
        return 0
    fi
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
