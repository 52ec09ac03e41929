#!/bin/sh
# The official mysql/mariadb images' contract, for the offline image:
# `docker-entrypoint.sh mysqld`, MYSQL_ROOT_PASSWORD, /etc/mysql/conf.d/*.cnf, data in /var/lib/mysql.
set -e

if [ "${1#-}" != "$1" ]; then
	set -- mysqld "$@"
fi

if [ "$1" = mysqld ] || [ "$1" = mariadbd ]; then
	shift
	# Exec the real binary so the kernel log names it as it names the incident's server (comm mariadbd).
	set -- /usr/sbin/mariadbd "$@"
	datadir=/var/lib/mysql
	mkdir -p /run/mysqld
	chown mysql:mysql /run/mysqld
	if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ]; then
		echo >&2 'error: database is uninitialized and password option is not specified'
		echo >&2 '  You need to specify one of MYSQL_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD or MYSQL_ALLOW_EMPTY_PASSWORD'
		exit 1
	fi
	if [ ! -d "$datadir/mysql" ]; then
		mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
			--auth-root-authentication-method=normal --force --skip-name-resolve >/dev/null
	fi
	password="${MYSQL_ROOT_PASSWORD:-$MARIADB_ROOT_PASSWORD}"
	init=/run/mysqld/oomlab-init.sql
	# The password may hold any character: pass it through a file, quoted for SQL.
	quoted=$(printf '%s' "$password" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g")
	cat > "$init" <<SQL
CREATE USER IF NOT EXISTS 'root'@'%';
ALTER USER 'root'@'%' IDENTIFIED BY '$quoted';
ALTER USER 'root'@'localhost' IDENTIFIED BY '$quoted';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
	chown mysql:mysql "$init"
	chmod 600 "$init"
	set -- "$@" --user=mysql --init-file="$init"
fi

exec "$@"
