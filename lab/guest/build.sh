#!/usr/bin/env bash
# Builds the lab guest from Debian packages only: a kernel, its initramfs and an ext4 disk image.
# Usage: build.sh OUT_DIR MIRROR SUITE
# MIRROR is the Debian archive the host's own apt sources name (src/3-runtime/apt-mirror.ts finds it).
# The caller (src/3-runtime/lab/guest.ts) labels OUT_DIR with the recipe hash; the first boot that uses it
# checks it. Progress lines on stdout start with "step:". Stopped (INT, TERM, HUP) or failed, it stops what it
# started, unmounts, and removes its root filesystem and OUT_DIR: nothing half-built stays.
set -euo pipefail
out=${1:?usage: build.sh OUT_DIR MIRROR SUITE}
mirror=${2:?usage: build.sh OUT_DIR MIRROR SUITE}
suite=${3:?usage: build.sh OUT_DIR MIRROR SUITE}
here=$(cd "$(dirname "$0")" && pwd)
files=$here/files
# Room for the images a lab run loads; the file is sparse, so only what is written takes host disk.
disk_size=${OOMLAB_LAB_DISK_SIZE:-12G}

rootfs=$(mktemp -d /var/tmp/oomlab-lab-rootfs-XXXXXX)
# Each long step runs in the background and is waited for: a signal reaches the trap at once, not after debootstrap.
run() {
	"$@" &
	wait $!
}
# The processes this build started, deepest first (debootstrap, dpkg in the chroot, mkfs).
descendants() {
	local child
	for child in $(pgrep -P "$1"); do
		descendants "$child"
		echo "$child"
	done
}
cleanup() {
	local status=$?
	# Every step of the cleanup runs, whatever the one before it returned.
	set +e +o pipefail
	trap '' INT TERM HUP PIPE
	local left
	left=$(descendants $$)
	if [ -n "$left" ]; then
		kill -TERM $left 2>/dev/null || true
		sleep 1
		kill -KILL $(descendants $$) 2>/dev/null || true
	fi
	# Whatever debootstrap or this script mounted in the root filesystem, deepest first.
	findmnt -rn -o TARGET | grep -F "$rootfs/" | sort -r | while read -r target; do umount -l "$target" 2>/dev/null || true; done
	rm -rf "$rootfs"
	[ "$status" -eq 0 ] || rm -rf "$out"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
chmod 0755 "$rootfs"

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
	echo "step: installing ${need[*]} (apt-get)"
	run apt-get update -qq
	DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# systemd as init (cgroup hierarchy and unit limits are its job), docker.io with containerd and runc,
# numactl for NUMA bindings, python3 for the agent, busybox-static for the seed image.
packages=systemd,systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,zstd,docker.io,numactl,python3,iproute2,procps,busybox-static,util-linux
echo "step: debootstrap $suite (the longest step, 2 to 4 minutes)"
options=()
[ -n "${OOMLAB_DEBOOTSTRAP_CACHE:-}" ] && options+=("--cache-dir=$OOMLAB_DEBOOTSTRAP_CACHE")
run debootstrap --variant=minbase --include="$packages" "${options[@]}" "$suite" "$rootfs" "$mirror"

echo "step: configuring the guest"
echo oomlab-lab > "$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 oomlab-lab\n' > "$rootfs/etc/hosts"
echo 'LABEL=oomlab-root / ext4 defaults,noatime 0 0' > "$rootfs/etc/fstab"
install -D -m 0644 "$files/10-eth.network" "$rootfs/etc/systemd/network/10-eth.network"
install -D -m 0755 "$files/oomlab-agent.py" "$rootfs/usr/local/lib/oomlab/agent.py"
install -D -m 0644 "$files/oomlab-agent.service" "$rootfs/etc/systemd/system/oomlab-agent.service"
install -D -m 0644 "$files/oomlab-seed.service" "$rootfs/etc/systemd/system/oomlab-seed.service"
install -D -m 0644 "$files/docker-tcp.conf" "$rootfs/etc/systemd/system/docker.service.d/10-oomlab-tcp.conf"
install -D -m 0755 "$files/oomlab-shape-generator" "$rootfs/etc/systemd/system-generators/oomlab-shape"
# The seed image: busybox alone, imported into the guest's engine at the check boot (oomlab-seed.service).
seed=$rootfs/usr/local/share/oomlab/busybox-rootfs
mkdir -p "$seed/bin" "$seed/tmp"
cp "$rootfs/bin/busybox" "$seed/bin/busybox"
for applet in sh cat ls sleep head tail tr dd echo true free ps; do ln -s busybox "$seed/bin/$applet"; done
# The engine needs no network of its own; the guest reaches nothing but the host's forwarded ports.
mount --bind /proc "$rootfs/proc"
chroot "$rootfs" systemctl enable systemd-networkd oomlab-agent.service oomlab-seed.service docker.service containerd.service >/dev/null 2>&1
# Nothing logs in; a serial getty would only cost boot time.
chroot "$rootfs" systemctl mask serial-getty@ttyS0.service getty@tty1.service getty-static.service e2scrub_reap.service dpkg-db-backup.timer apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
chroot "$rootfs" passwd -d root >/dev/null

echo "step: initramfs with the virtio disk drivers"
printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >> "$rootfs/etc/initramfs-tools/modules"
sed -i 's/^MODULES=.*/MODULES=list/' "$rootfs/etc/initramfs-tools/initramfs.conf"
run chroot "$rootfs" update-initramfs -u -k all >/dev/null
umount "$rootfs/proc"

kernel=$(cd "$rootfs/boot" && ls vmlinuz-* | sort -V | tail -1)
initrd=initrd.img-${kernel#vmlinuz-}
mkdir -p "$out"
cp "$rootfs/boot/$kernel" "$out/vmlinuz"
cp "$rootfs/boot/$initrd" "$out/initrd.img"
echo "${kernel#vmlinuz-}" > "$out/kernel-release"

echo "step: disk image ($disk_size, sparse)"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale
rm -f "$out/disk.img"
truncate -s "$disk_size" "$out/disk.img"
run mkfs.ext4 -q -L oomlab-root -d "$rootfs" "$out/disk.img"
echo "step: built $(du -sh --apparent-size "$out/disk.img" | cut -f1) apparent, $(du -sh "$out/disk.img" | cut -f1) on disk"
