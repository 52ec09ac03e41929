#!/usr/bin/env bash
# Builds the root filesystem of the offline MariaDB 10.11 image from Debian packages only
# (no container registry needed). Usage: build.sh ROOTFS_DIR MIRROR
# MIRROR is the Debian archive the host's own apt sources name (src/3-runtime/apt-mirror.ts finds it).
# The caller (src/3-runtime/images.ts) tars ROOTFS_DIR into `docker import`, checks the image, then tags it.
set -euo pipefail
rootfs=${1:?usage: build.sh ROOTFS_DIR MIRROR}
mirror=${2:?usage: build.sh ROOTFS_DIR MIRROR, the Debian archive named by the host apt sources}
here=$(cd "$(dirname "$0")" && pwd)

# The caller's temporary directory is 0700; as the image's / it would lock the mysql user out.
mkdir -p "$rootfs"
chmod 0755 "$rootfs"

command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }

# procps, numactl and the two allocators are what later scenarios run or preload inside the server container.
debootstrap --variant=minbase \
	--include=mariadb-server,mariadb-client,procps,numactl,libjemalloc2,libtcmalloc-minimal4 \
	bookworm "$rootfs" "$mirror"

install -m 0755 "$here/entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
install -m 0644 "$here/my.cnf" "$rootfs/etc/mysql/my.cnf"
install -m 0644 "$here/oomlab.cnf" "$rootfs/etc/mysql/mariadb.conf.d/99-oomlab.cnf"
mkdir -p "$rootfs/etc/mysql/conf.d"
# Stable paths for allocator preloads, whatever the Debian multiarch directory is.
ln -sf "/$(cd "$rootfs" && ls usr/lib/*/libjemalloc.so.2 | head -1)" "$rootfs/usr/lib/libjemalloc.so"
ln -sf "/$(cd "$rootfs" && ls usr/lib/*/libtcmalloc_minimal.so.4 | head -1)" "$rootfs/usr/lib/libtcmalloc_minimal.so"

# Seed the data directory once here, so each container starts in seconds instead of initialising.
rm -rf "$rootfs/var/lib/mysql"
mkdir -p "$rootfs/var/lib/mysql"
chroot "$rootfs" chown mysql:mysql /var/lib/mysql
# --force --skip-name-resolve: the build host's name need not resolve inside the chroot.
chroot "$rootfs" mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
	--auth-root-authentication-method=normal --force --skip-name-resolve >/dev/null

rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
	"$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale
