#!/usr/bin/env bash
# Builds the root filesystem of the offline MySQL 9.7 image (Oracle MySQL as Debian packages it:
# sid's mysql-server) from Debian packages only (no container registry needed). Usage: build.sh ROOTFS_DIR MIRROR
# MIRROR is the Debian archive the host's own apt sources name (src/3-runtime/apt-mirror.ts finds it).
# The caller (src/3-runtime/images.ts) tars ROOTFS_DIR into `docker import`, checks the image, then tags it.
# The steps every recipe shares are in docker/lib/recipe.sh. mysqld links tcmalloc itself
# (libtcmalloc.so.4); libtcmalloc-minimal4t64 is here for the same preload paths as the other images.
set -euo pipefail
rootfs=${1:?usage: build.sh ROOTFS_DIR MIRROR}
mirror=${2:?usage: build.sh ROOTFS_DIR MIRROR, the Debian archive named by the host apt sources}
source "$(dirname "$0")/../lib/recipe.sh"

oomlab_bootstrap "$rootfs" "$mirror" sid mysql-server mysql-client libjemalloc2 libtcmalloc-minimal4t64
# Debian's mysqld.cnf sends the error log to a file and binds 127.0.0.1; docker/lib/mysql/oomlab.cnf
# says what the official image does instead.
rm -f "$rootfs/etc/mysql/mysql.conf.d/mysqld.cnf"
oomlab_install_contract "$rootfs" mysql /etc/mysql/mysql.conf.d
# The package's postinst initialised a data directory of its own (and upgrade state beside it);
# oomlab_seed replaces it with one from `mysqld --initialize-insecure`.
rm -rf "$rootfs/var/lib/mysql-upgrade"
mkdir -p "$rootfs/var/lib/mysql-files"
chroot "$rootfs" chown mysql:mysql /var/lib/mysql-files
oomlab_seed "$rootfs"
oomlab_trim "$rootfs"
