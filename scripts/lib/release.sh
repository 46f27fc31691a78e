# The flags of a release build, shared by scripts/build-release (what the scripts run and
# measure) and scripts/package (what users install). Sourced; sets the array RELEASE_FLAGS.
#
# -Osize and the static Swift runtime: see scripts/build-release.
# On Linux, with the toolchain's lld, the binary is also laid out for a small resident set
# (a node's RSS is mostly the pages of its own binary that it has touched; each touch maps a
# 64 KB window):
#   - every function in its own section (-function-sections), and the functions a node runs
#     placed together at the front of the code, in the order of scripts/link/gossip-node.order
#     (made by scripts/link/profile-order; names it does not know go after, so a stale list
#     costs memory, never correctness);
#   - the compiler's unnamed functions gathered in one place (scripts/link/local-functions.ld);
#   - no exported dynamic symbols (scripts/link/exports.map);
#   - relative relocations packed (DT_RELR, glibc >= 2.36): 12 KB to read at start instead of 1.5 MB;
#   - libstdc++ linked statically (below).
# Measured RSS without / with these: one idle node 23.3 / 14.6 MiB; scripts/bench idle (16 nodes,
# 100k entries) 24.9 / 15.7 MiB; scripts/bench memory (under load, p50) 25.2 / 16.0 MiB.
RELEASE_FLAGS=(-c release -Xswiftc -Osize --static-swift-stdlib)
RELEASE_LAYOUT=0
release_layout_flags() {
    local root swiftc_dir glibc
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    [ "$(uname -s)" = Linux ] || return 0
    swiftc_dir="$(dirname "$(readlink -f "$(command -v swiftc)")")"
    if [ ! -x "$swiftc_dir/ld.lld" ] && ! command -v ld.lld >/dev/null 2>&1; then
        echo "note: no ld.lld next to swiftc; the release binary is linked without the memory layout (scripts/lib/release.sh)" >&2
        return 0
    fi
    RELEASE_FLAGS+=(-Xswiftc -use-ld=lld -Xswiftc -Xfrontend -Xswiftc -function-sections
                    -Xlinker "--symbol-ordering-file=$root/scripts/link/gossip-node.order" -Xlinker --no-warn-symbol-ordering
                    -Xlinker -T -Xlinker "$root/scripts/link/local-functions.ld"
                    -Xlinker "--version-script=$root/scripts/link/exports.map")
    RELEASE_LAYOUT=1
    # The C++ runtime linked in statically (the Swift runtime needs a little of it: operator new,
    # exception support): the shared libstdc++ cost every node 1.1 MiB resident, mostly its
    # start-up (locales, iostreams) and relocations; linked in, only the functions used come
    # along (measured on a loaded node of 4: RSS 16.5 -> 15.3 MiB). The Swift driver asks for
    # -lstdc++ itself; a search directory holding only the archive, given first, makes that
    # resolve to it.
    local cxx
    cxx="$(clang -print-file-name=libstdc++.a 2>/dev/null || true)"
    if [ -n "$cxx" ] && [ -f "$cxx" ]; then
        mkdir -p "$root/.build/static-libstdcxx"
        ln -sfn "$cxx" "$root/.build/static-libstdcxx/libstdc++.a"
        RELEASE_FLAGS+=(-Xlinker -L -Xlinker "$root/.build/static-libstdcxx")
    fi
    glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"
    if [ -n "$glibc" ] && [ "$(printf '%s\n2.36\n' "$glibc" | sort -V | head -1)" = 2.36 ]; then
        RELEASE_FLAGS+=(-Xlinker -z -Xlinker pack-relative-relocs)
    fi
}
release_layout_flags

# Builds PRODUCT with RELEASE_FLAGS (extra swift build arguments may follow, e.g. --scratch-path).
# SwiftPM does not notice a change of frontend flags: objects compiled before this layout existed
# would be linked as they are (one code section per file: nothing to order). When an object of
# the Wire module (every product links it) has a single code section, the release objects are
# rebuilt from scratch, once.
release_build() {
    local product="$1"; shift
    swift build "${RELEASE_FLAGS[@]}" "$@" --product "$product" >&2
    [ "$RELEASE_LAYOUT" = 1 ] || return 0
    local dir
    dir="$(swift build "${RELEASE_FLAGS[@]}" "$@" --show-bin-path)"
    local probe
    probe="$(ls "$dir"/Wire.build/*.o 2>/dev/null | head -1)"
    if [ -n "$probe" ] && [ "$(readelf -SW "$probe" | grep -c ' \.text\.')" -le 1 ]; then
        echo "note: $dir holds objects compiled without -function-sections; rebuilding them (once)" >&2
        rm -rf "$dir"
        swift build "${RELEASE_FLAGS[@]}" "$@" --product "$product" >&2
    fi
}
