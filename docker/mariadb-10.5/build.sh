#!/usr/bin/env bash
# Builds the root filesystem of the offline MariaDB 10.5 image from Debian bullseye packages only
# (no container registry needed). Usage: build.sh ROOTFS_DIR MIRROR
# MIRROR is the Debian archive the host's own apt sources name (src/3-runtime/apt-mirror.ts finds it).
# The caller (src/3-runtime/images.ts) tars ROOTFS_DIR into `docker import`, checks the image, then tags it.
# The steps every recipe shares are in docker/lib/recipe.sh.
set -euo pipefail
rootfs=${1:?usage: build.sh ROOTFS_DIR MIRROR}
mirror=${2:?usage: build.sh ROOTFS_DIR MIRROR, the Debian archive named by the host apt sources}
source "$(dirname "$0")/../lib/recipe.sh"

oomlab_bootstrap "$rootfs" "$mirror" bullseye mariadb-server mariadb-client libjemalloc2 libtcmalloc-minimal4
oomlab_install_contract "$rootfs" mariadb /etc/mysql/mariadb.conf.d
oomlab_seed "$rootfs"
oomlab_trim "$rootfs"
