# Shared steps of the offline image recipes, sourced by docker/<recipe>/build.sh (bash).
# A recipe names its Debian release, its server packages and its flavour (mariadb or mysql); the
# rest is the same for every image: debootstrap from the mirror the caller took from the host's apt
# sources, the official images' entrypoint contract, allocator preloads at stable paths, a data
# directory seeded at build time, and no package caches or docs left behind.
# docker/lib/ is part of every recipe's hash (src/3-runtime/image-recipes.ts, recipeHash).

oomlab_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# oomlab_bootstrap ROOTFS MIRROR SUITE PACKAGE...
# PACKAGE...: the server, its client, and the release's names of libjemalloc2 and libtcmalloc-minimal4.
oomlab_bootstrap() {
	local rootfs=$1 mirror=$2 suite=$3
	shift 3
	# The caller's temporary directory is 0700; as the image's / it would lock the mysql user out.
	mkdir -p "$rootfs"
	chmod 0755 "$rootfs"
	command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
	local packages options=()
	# procps and numactl are what scenarios run inside the server container.
	packages=$(IFS=,; echo "$*,procps,numactl")
	# OOMLAB_DEBOOTSTRAP_CACHE (optional, an absolute directory): keep the downloaded .deb files there
	# between builds, for someone iterating on a recipe. Builds take the packages from MIRROR either way.
	[ -n "${OOMLAB_DEBOOTSTRAP_CACHE:-}" ] && options+=("--cache-dir=$OOMLAB_DEBOOTSTRAP_CACHE")
	debootstrap --variant=minbase --include="$packages" "${options[@]}" "$suite" "$rootfs" "$mirror"
}

# oomlab_install_contract ROOTFS FLAVOR DISTRO_CONF_DIR
# FLAVOR: mariadb or mysql (docker/lib/FLAVOR/ holds its my.cnf and oomlab.cnf).
# DISTRO_CONF_DIR: the directory the Debian package reads before conf.d (my.cnf includes it),
# where oomlab.cnf goes as 99-oomlab.cnf.
oomlab_install_contract() {
	local rootfs=$1 flavor=$2 distro_conf=$3
	mkdir -p "$rootfs/etc/oomlab"
	echo "$flavor" > "$rootfs/etc/oomlab/flavor"
	install -m 0755 "$oomlab_lib/entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
	install -D -m 0755 "$oomlab_lib/seed.sh" "$rootfs/usr/local/lib/oomlab/seed.sh"
	# install replaces Debian's /etc/mysql/my.cnf symlink (to /etc/alternatives) with the file.
	install -m 0644 "$oomlab_lib/$flavor/my.cnf" "$rootfs/etc/mysql/my.cnf"
	install -D -m 0644 "$oomlab_lib/$flavor/oomlab.cnf" "$rootfs$distro_conf/99-oomlab.cnf"
	mkdir -p "$rootfs/etc/mysql/conf.d" "$rootfs/docker-entrypoint-initdb.d"
	# Stable paths for allocator preloads, whatever the Debian multiarch directory is.
	local jemalloc tcmalloc
	jemalloc=$(cd "$rootfs" && ls usr/lib/*/libjemalloc.so.2 | head -1)
	tcmalloc=$(cd "$rootfs" && ls usr/lib/*/libtcmalloc_minimal.so.4 | head -1)
	[ -n "$jemalloc" ] && [ -n "$tcmalloc" ] || { echo >&2 "oomlab: libjemalloc.so.2 or libtcmalloc_minimal.so.4 missing from the root filesystem"; return 1; }
	ln -sf "/$jemalloc" "$rootfs/usr/lib/libjemalloc.so"
	ln -sf "/$tcmalloc" "$rootfs/usr/lib/libtcmalloc_minimal.so"
}

# oomlab_seed ROOTFS: the data directory once here, so each container starts in seconds instead of
# initialising; the entrypoint runs the same seed.sh when a container's data directory is empty.
oomlab_seed() {
	local rootfs=$1
	rm -rf "$rootfs/var/lib/mysql"
	chroot "$rootfs" /usr/local/lib/oomlab/seed.sh /var/lib/mysql
}

# oomlab_trim ROOTFS: what a server container never reads.
oomlab_trim() {
	local rootfs=$1
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
		"$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale
}
