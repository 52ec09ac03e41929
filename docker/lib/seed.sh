#!/bin/sh
# Seeds an offline image's data directory: at build time (docker/lib/recipe.sh, in the chroot) and
# at start when a container's data directory is empty (docker-entrypoint.sh). Usage: seed.sh DATADIR
# root@localhost gets an empty password here; the entrypoint sets MYSQL_ROOT_PASSWORD at every start.
set -e
datadir=${1:?usage: seed.sh DATADIR}
mkdir -p "$datadir"
chown mysql:mysql "$datadir"
case "$(cat /etc/oomlab/flavor)" in
mariadb)
	# --cross-bootstrap, as the official image seeds: no root@<build host> account (the build host's
	# name would be baked in, and every start warns about it under skip-name-resolve); --force
	# --skip-name-resolve: that name need not resolve inside the chroot either.
	mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db --cross-bootstrap \
		--auth-root-authentication-method=normal --force --skip-name-resolve >/dev/null
	;;
mysql)
	# Also writes the RSA key pair (private_key.pem, public_key.pem) that caching_sha2_password
	# hands to clients which ask for it over plain TCP (see the entrypoint).
	mysqld --initialize-insecure --user=mysql --datadir="$datadir"
	;;
*)
	echo >&2 "seed.sh: unknown server flavour in /etc/oomlab/flavor"
	exit 1
	;;
esac
