#!/bin/bash
# Build maquina's default riscv64 guest from Debian packages, reproducibly:
#   $CACHE/default/Image              plain (uncompressed) RISC-V kernel Image
#   $CACHE/default/initramfs.cpio.gz  busybox initramfs with the virtio/ext4 modules
#   $CACHE/default/manifest.txt       what went in (versions, sha256) and came out
#
# Packages come from Debian trixie (riscv64, main) on the Debian mirror the host
# already uses, fetched with apt-get under a private apt configuration kept in
# the cache; the host's apt state is never read for packages nor written.
# See docs/guest-image.md.
#
# usage: scripts/guest/build-default.sh [--offline | --refresh] [--force]
#   (none)     use the cached packages when present, else download them;
#              exit at once when the outputs are already up to date
#   --offline  never touch the network; fail when the cache has no packages
#   --refresh  re-read the archive index and rebuild if the versions changed
#   --force    rebuild the outputs even if they look up to date
# environment:
#   MAQUINA_CACHE          cache root (default: <repo>/.cache/guest)
#   MAQUINA_DEBIAN_MIRROR  archive URI to use instead of the host's (optional)
#   MAQUINA_DEBIAN_KEYRING keyring that must sign the Release file
#                          (default: /usr/share/keyrings/debian-archive-keyring.gpg)
set -euo pipefail

SUITE=trixie
ARCH=riscv64
KERNEL_META=linux-image-riscv64
BUSYBOX_PKG=busybox-static
# Modules for the virt board's virtio-mmio devices and an ext4 disk; a
# trailing "?" marks a module that may be absent (e.g. built in differently).
# virtio_input + evdev: the power button as /dev/input/event0, for acpid.
MODULES="virtio_mmio virtio_blk virtio_net virtio_rng virtio_console virtio_input evdev ext4 af_packet?"

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
CACHE=${MAQUINA_CACHE:-$repo/.cache/guest}
KEYRING=${MAQUINA_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
APT_ETC=${MAQUINA_HOST_APT_ETC:-/etc/apt}   # where the host's apt sources are read (tests)
PYTHON=${PYTHON:-python3}
TOOL="$here/guest-tool.py"

mode=auto
force=0
for arg in "$@"; do
    case "$arg" in
    --offline) mode=offline ;;
    --refresh) mode=refresh ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-default: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

log() { echo "build-default: $*" >&2; }
die() { echo "build-default: error: $*" >&2; exit 1; }

for t in dpkg-deb sha256sum gzip "$PYTHON"; do
    command -v "$t" >/dev/null || die "$t is required"
done

aptdir=$CACHE/apt
debdir=$CACHE/debs
out=$CACHE/default
resolved=$debdir/resolved.txt
manifest=$out/manifest.txt
mkdir -p "$CACHE" "$debdir" "$out"

# One build at a time per cache.
if command -v flock >/dev/null; then
    exec 9>"$CACHE/.lock"
    flock 9
fi

# Identity of the builder: a change to any of these files rebuilds the outputs.
builder_id=$(cd "$here" && cat build-default.sh guest-tool.py initramfs/* | sha256sum | cut -d' ' -f1)

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# first ARGS...: the first argument naming an existing file (globs expanded)
first() {
    local f
    for f in "$@"; do
        [ -e "$f" ] && { echo "$f"; return 0; }
    done
    return 0
}

print_outputs() {
    local krel bbver
    krel=$(sed -n 's/^kernel-release //p' "$manifest")
    bbver=$(awk '$1 == "deb" && $2 == "'"$BUSYBOX_PKG"'" { print $3 }' "$manifest")
    echo "maquina default guest: linux $krel, $BUSYBOX_PKG $bbver"
    echo "  kernel:    $out/Image"
    echo "  initramfs: $out/initramfs.cpio.gz"
    echo "  manifest:  $manifest"
}

# True when the outputs exist, were made by this builder from the packages
# in $resolved, and still have the recorded hashes.
outputs_current() {
    [ -f "$manifest" ] && [ -f "$out/Image" ] && [ -f "$out/initramfs.cpio.gz" ] || return 1
    grep -qx "builder $builder_id" "$manifest" || return 1
    if [ -f "$resolved" ]; then
        diff -q <(grep -E '^(package|deb) ' "$resolved") \
                <(grep -E '^(package|deb) ' "$manifest") >/dev/null || return 1
    fi
    local f
    for f in Image initramfs.cpio.gz; do
        awk -v f="$f" '$1 == "output" && $2 == f { print $3 }' "$manifest" \
            | grep -qx "$(sha256 "$out/$f")" || return 1
    done
}

# True when every .deb named in $resolved is cached with the recorded hash.
debs_cached() {
    [ -f "$resolved" ] || return 1
    local pkg ver sum file
    while read -r _ pkg ver sum file; do
        [ -f "$debdir/$file" ] || return 1
        [ "$(sha256 "$debdir/$file")" = "$sum" ] || { log "$file: sha256 mismatch"; return 1; }
    done < <(grep '^deb ' "$resolved")
}

# --- the host's Debian mirror ------------------------------------------------

# Print "URI SUITE" for every enabled binary ("deb") source of the host.
host_sources() {
    local f
    for f in "$APT_ETC"/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
            function flush() {
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^[ \t]*(no|false)/)
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
                types = ""; enabled = ""; nu = 0; ns = 0; field = ""
            }
            /^#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { if (field == "uris") for (k = 1; k <= NF; k++) u[++nu] = $k
                       else if (field == "suites") for (k = 1; k <= NF; k++) s[++ns] = $k
                       next }
            {
                field = tolower($1); sub(/:$/, "", field); $1 = ""
                if (field == "types") types = $0
                else if (field == "enabled") enabled = $0
                else if (field == "uris") for (k = 2; k <= NF; k++) u[++nu] = $k
                else if (field == "suites") for (k = 2; k <= NF; k++) s[++ns] = $k
            }
            END { flush() }' "$f"
    done
    for f in "$APT_ETC"/sources.list "$APT_ETC"/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
    done
}

# The main Debian archive: a source whose suite is a plain release name
# (bookworm, stable, sid...), not -security, -updates, -backports, x/updates.
find_mirror() {
    if [ -n "${MAQUINA_DEBIAN_MIRROR:-}" ]; then
        echo "$MAQUINA_DEBIAN_MIRROR"
        return
    fi
    host_sources | awk '$2 ~ /^[a-z]+$/ && $1 !~ /^cdrom:/ && $1 !~ /security/ { print $1; exit }'
}

# --- private apt -------------------------------------------------------------

setup_apt() {
    local mirror=$1
    mkdir -p "$aptdir"/etc/apt.conf.d "$aptdir"/etc/preferences.d \
             "$aptdir"/etc/sources.list.d "$aptdir"/etc/trusted.gpg.d \
             "$aptdir"/state/lists/partial "$aptdir"/cache/archives/partial "$aptdir"/log
    [ -f "$aptdir/state/status" ] || : > "$aptdir/state/status"
    {
        echo "// generated by scripts/guest/build-default.sh: private apt for the guest build"
        echo "Dir::Etc \"$aptdir/etc\";"
        echo "Dir::Etc::main \"apt.conf\";"
        echo "Dir::Etc::parts \"apt.conf.d\";"
        echo "Dir::Etc::sourcelist \"sources.list\";"
        echo "Dir::Etc::sourceparts \"sources.list.d\";"
        echo "Dir::Etc::preferences \"preferences\";"
        echo "Dir::Etc::preferencesparts \"preferences.d\";"
        echo "Dir::Etc::trusted \"trusted.gpg\";"
        echo "Dir::Etc::trustedparts \"trusted.gpg.d\";"
        echo "Dir::State \"$aptdir/state\";"
        echo "Dir::State::status \"$aptdir/state/status\";"
        echo "Dir::Cache \"$aptdir/cache\";"
        echo "Dir::Log \"$aptdir/log\";"
        echo "APT::Architecture \"$ARCH\";"
        echo "APT::Architectures { \"$ARCH\"; };"
        echo "APT::Get::AllowUnauthenticated \"false\";"
        echo "Acquire::AllowInsecureRepositories \"false\";"
        echo "Acquire::AllowDowngradeToInsecureRepositories \"false\";"
        echo "Acquire::AllowWeakRepositories \"false\";"
        echo "Acquire::Languages \"none\";"
        echo "Acquire::GzipIndexes \"true\";"
        # How the host reaches its mirror: proxies, and the date checks its
        # administrator chose for that mirror (e.g. a snapshot mirror).
        env -u APT_CONFIG apt-config dump 2>/dev/null \
            | grep -E '^Acquire::(https?|ftp)::Proxy|^Acquire::Check-(Valid-Until|Date) ' || true
    } > "$aptdir/apt.conf"
    cat > "$aptdir/etc/sources.list.d/$SUITE.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE
Components: main
Architectures: $ARCH
Signed-By: $KEYRING
EOF
    : > "$aptdir/etc/sources.list"
}

apt_get() { APT_CONFIG=$aptdir/apt.conf apt-get -q "$@"; }
apt_cache() { APT_CONFIG=$aptdir/apt.conf apt-cache "$@"; }

# field PACKAGE FIELD: a field of the candidate version's Packages stanza
field() { apt_cache show --no-all-versions "$1" | sed -n "s/^$2: //p" | head -n1; }

fetch() {
    command -v apt-get >/dev/null || die "apt-get is required"
    [ -r "$KEYRING" ] || die "keyring $KEYRING not readable"
    local mirror
    mirror=$(find_mirror)
    [ -n "$mirror" ] || die "no Debian archive found in /etc/apt/sources.list{,.d/*.list,.d/*.sources}; set MAQUINA_DEBIAN_MIRROR"
    log "mirror $mirror (from the host's apt sources), suite $SUITE, arch $ARCH"
    setup_apt "$mirror"
    # apt verifies InRelease against $KEYRING and every index against the
    # hashes in InRelease; a failure is fatal.
    apt_get update >&2 || die "apt-get update failed for $mirror $SUITE (is $SUITE signed by a key in $KEYRING?)"
    local inrelease signers=""
    inrelease=$(first "$aptdir"/state/lists/*_dists_${SUITE}_InRelease)
    [ -n "$inrelease" ] || die "no InRelease for $SUITE (unsigned Release files are refused)"
    if command -v gpgv >/dev/null; then
        signers=$(gpgv --status-fd 1 --keyring "$KEYRING" "$inrelease" 2>/dev/null \
                  | awk '$2 == "VALIDSIG" { print $3 }' | paste -sd, -)
        [ -n "$signers" ] || die "$inrelease: no valid signature from $KEYRING"
    fi

    local kpkg
    kpkg=$(field "$KERNEL_META" Depends | tr ',' '\n' \
           | sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' | head -n1)
    [ -n "$kpkg" ] || die "cannot resolve $KERNEL_META to a linux-image package"

    local tmp=$debdir/.resolved.new
    {
        echo "suite $SUITE"
        echo "architecture $ARCH"
        echo "mirror $mirror"
        echo "keyring $KEYRING"
        [ -z "$signers" ] || echo "release-signed-by $signers"
        echo "release-date $(sed -n 's/^Date: //p' "$inrelease" | head -n1)"
        echo "package $KERNEL_META $(field "$KERNEL_META" Version) -> $kpkg"
        local p
        for p in "$kpkg" "$BUSYBOX_PKG"; do
            echo "deb $p $(field "$p" Version) $(field "$p" SHA256) $(basename "$(field "$p" Filename)")"
        done
    } > "$tmp"

    # Download what is not cached yet. apt-get download checks each .deb
    # against the SHA256 of the signed Packages index; we check again.
    local pkg ver sum file dl
    while read -r _ pkg ver sum file; do
        if [ -f "$debdir/$file" ] && [ "$(sha256 "$debdir/$file")" = "$sum" ]; then
            log "cached $file"
            continue
        fi
        dl=$debdir/.download
        rm -rf "$dl"; mkdir -p "$dl"
        # Let apt's unprivileged downloader (_apt) write there when root.
        if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
        log "downloading $pkg $ver"
        (cd "$dl" && apt_get download "$pkg=$ver" >&2) || die "apt-get download $pkg=$ver failed"
        set -- "$dl"/*.deb
        if [ $# != 1 ] || [ ! -f "$1" ]; then die "apt-get download $pkg left no single .deb"; fi
        [ "$(sha256 "$1")" = "$sum" ] || die "$pkg: sha256 differs from the signed index"
        mv "$1" "$debdir/$file"
        chown "$(id -u):$(id -g)" "$debdir/$file" 2>/dev/null || true
        rm -rf "$dl"
    done < <(grep '^deb ' "$tmp")
    mv "$tmp" "$resolved"
}

# --- build -------------------------------------------------------------------

build() {
    local work=$CACHE/work
    rm -rf "$work"
    mkdir -p "$work"
    local kdeb bdeb
    kdeb=$debdir/$(awk '$1 == "deb" && $2 ~ /^linux-image-/ { print $5 }' "$resolved")
    bdeb=$debdir/$(awk -v p="$BUSYBOX_PKG" '$1 == "deb" && $2 == p { print $5 }' "$resolved")

    log "extracting $(basename "$kdeb")"
    dpkg-deb -x "$kdeb" "$work/kernel"
    local vmlinux krel moddir
    vmlinux=$(first "$work"/kernel/boot/vmlinu[xz]-*)
    [ -n "$vmlinux" ] || die "no /boot/vmlinu[xz]-* in $(basename "$kdeb")"
    krel=${vmlinux##*/vmlinu?-}
    for moddir in "$work/kernel/usr/lib/modules/$krel" "$work/kernel/lib/modules/$krel" ""; do
        [ -z "$moddir" ] || [ -d "$moddir" ] && break
    done
    [ -n "$moddir" ] || die "no modules directory for $krel"
    local kformat
    kformat=$("$PYTHON" "$TOOL" kernel "$vmlinux" "$work/Image")
    log "kernel $krel: /boot/${vmlinux##*/} is a $kformat"

    log "extracting $(basename "$bdeb")"
    dpkg-deb -x "$bdeb" "$work/busybox"
    local bb
    bb=$(first "$work"/busybox/usr/bin/busybox "$work"/busybox/bin/busybox)
    [ -n "$bb" ] || die "no busybox binary in $(basename "$bdeb")"
    "$PYTHON" "$TOOL" applets "$bb" > "$work/applets"

    # Modules, closed over their dependencies, decompressed, in load order.
    local root=$work/root
    local kmods=$root/lib/modules/$krel
    mkdir -p "$kmods"
    # shellcheck disable=SC2086
    "$PYTHON" "$TOOL" modules "$moddir" "$kmods" $MODULES > "$work/modules"
    awk '$2 == "module" { print $1 }' "$work/modules" > "$kmods/load.order"
    log "modules: $(awk '$2 == "module" { printf "%s ", $1 }' "$work/modules")"
    log "built in: $(awk '$2 == "builtin" { printf "%s ", $1 }' "$work/modules")"

    # The rest of the tree.
    mkdir -p "$root/etc" "$root/usr/share/udhcpc"
    cp "$here/initramfs/init" "$root/init"
    cp "$here/initramfs/udhcpc.script" "$root/usr/share/udhcpc/default.script"
    cp "$here/initramfs/acpid.conf" "$root/etc/acpid.conf"
    cp "$here/initramfs/power-button.sh" "$root/etc/power-button.sh"
    cp "$bb" "$root/busybox"
    echo maquina > "$root/etc/hostname"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' > "$root/etc/passwd"
    printf '%s\n' 'root:x:0:' 'tty:x:5:' 'nogroup:x:65534:' > "$root/etc/group"
    printf '%s\n' '127.0.0.1 localhost' '127.0.1.1 maquina' '::1 localhost' > "$root/etc/hosts"
    printf '%s\n' '/bin/sh' > "$root/etc/shells"
    cat > "$root/etc/profile" <<'EOF'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PS1='\h:\w\$ '
alias ll='ls -l'
EOF

    # The cpio spec, in a fixed order; the archive is reproducible.
    local spec=$work/initramfs.spec d f a
    {
        for d in bin dev etc etc/acpi etc/acpi/PWRF lib lib/modules "lib/modules/$krel" mnt proc root run sys tmp usr usr/share usr/share/udhcpc var; do
            case $d in tmp) echo "dir /$d 1777 0 0" ;; root) echo "dir /$d 700 0 0" ;; *) echo "dir /$d 755 0 0" ;; esac
        done
        echo "slink /sbin bin 777 0 0"
        echo "slink /usr/bin ../bin 777 0 0"
        echo "slink /usr/sbin ../bin 777 0 0"
        echo "slink /var/run ../run 777 0 0"
        echo "nod /dev/console 600 0 0 c 5 1"
        echo "nod /dev/null 666 0 0 c 1 3"
        echo "file /init $root/init 755 0 0"
        echo "file /bin/busybox $root/busybox 755 0 0"
        while read -r a; do
            echo "slink /bin/$a busybox 777 0 0"
        done < "$work/applets"
        for f in acpid.conf group hostname hosts passwd profile shells; do
            echo "file /etc/$f $root/etc/$f 644 0 0"
        done
        echo "file /etc/acpi/PWRF/00000080 $root/etc/power-button.sh 755 0 0"
        echo "file /usr/share/udhcpc/default.script $root/usr/share/udhcpc/default.script 755 0 0"
        echo "file /lib/modules/$krel/load.order $kmods/load.order 644 0 0"
        while read -r a; do
            echo "file /lib/modules/$krel/$a.ko $kmods/$a.ko 644 0 0"
        done < "$kmods/load.order"
    } > "$spec"
    # Timestamps: the kernel package's, so the same packages give the same bytes.
    SOURCE_DATE_EPOCH=$(stat -c %Y "$vmlinux") "$PYTHON" "$TOOL" cpio "$spec" "$work/initramfs.cpio"
    gzip -n -9 < "$work/initramfs.cpio" > "$work/initramfs.cpio.gz"

    mv "$work/Image" "$out/Image"
    mv "$work/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
    {
        echo "# maquina default guest: generated by scripts/guest/build-default.sh, do not edit"
        echo "builder $builder_id"
        cat "$resolved"
        echo "kernel-release $krel"
        echo "kernel-source /boot/${vmlinux##*/}"
        echo "kernel-format $kformat"
        awk '{ print "module", $0 }' "$work/modules"
        echo "busybox-applets $(wc -l < "$work/applets")"
        local o
        for o in Image initramfs.cpio.gz; do
            echo "output $o $(sha256 "$out/$o") $(stat -c %s "$out/$o")"
        done
    } > "$manifest.new"
    mv "$manifest.new" "$manifest"
    rm -rf "$work"

    # Drop .debs of older versions.
    local keep
    keep=$(awk '$1 == "deb" { print $5 }' "$resolved")
    for f in "$debdir"/*.deb; do
        [ -e "$f" ] || continue
        echo "$keep" | grep -qxF "${f##*/}" || { log "removing old ${f##*/}"; rm -f "$f"; }
    done
}

# --- main --------------------------------------------------------------------

case $mode in
auto|offline)
    if [ "$force" = 0 ] && outputs_current && debs_cached; then
        print_outputs
        exit 0
    fi
    if ! debs_cached; then
        [ "$mode" = offline ] && die "--offline: no cached packages in $debdir; run once without --offline"
        fetch
    else
        log "using cached packages ($debdir)"
    fi
    ;;
refresh)
    fetch
    if [ "$force" = 0 ] && outputs_current; then
        log "up to date"
        print_outputs
        exit 0
    fi
    ;;
esac
debs_cached || die "cached packages do not match $resolved"
build
print_outputs
