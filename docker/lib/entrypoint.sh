#!/bin/sh
# The official mysql/mariadb images' contract, for every offline image (docker/lib/, one entrypoint
# with a branch per flavour, read from /etc/oomlab/flavor): `docker-entrypoint.sh mysqld`,
# MYSQL_ROOT_PASSWORD (or MYSQL_ALLOW_EMPTY_PASSWORD), scripts and SQL in /docker-entrypoint-initdb.d
# run once on the first start, /etc/mysql/conf.d/*.cnf read last, data in /var/lib/mysql.
set -e

flavor=$(cat /etc/oomlab/flavor)
case "$flavor" in
mariadb)
	server=/usr/sbin/mariadbd
	client=mariadb
	;;
mysql)
	server=/usr/sbin/mysqld
	client=mysql
	;;
*)
	echo >&2 "docker-entrypoint.sh: unknown server flavour '$flavor' in /etc/oomlab/flavor"
	exit 1
	;;
esac

if [ "${1#-}" != "$1" ]; then
	set -- mysqld "$@"
fi

datadir=/var/lib/mysql
rundir=/run/mysqld
initdb_done=$datadir/.oomlab-initdb-done

# The root password may hold any character: SQL gets it quoted for '...', the client's option file
# quoted for "...".
sql_quoted() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }
cnf_quoted() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

# Statements the server runs at every start (--init-file): root gets MYSQL_ROOT_PASSWORD from any host.
write_init_file() {
	quoted=$(sql_quoted "$1")
	# printf, not echo: dash's echo would turn the password's \\ into \.
	{
		printf "CREATE USER IF NOT EXISTS 'root'@'%%' IDENTIFIED BY '%s';\n" "$quoted"
		printf "ALTER USER 'root'@'%%' IDENTIFIED BY '%s';\n" "$quoted"
		printf "ALTER USER 'root'@'localhost' IDENTIFIED BY '%s';\n" "$quoted"
		printf "GRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION;\n"
		if [ "$flavor" = mariadb ]; then
			# As the official image does: mariadb-install-db's passwordless root@127.0.0.1 and root@::1 go.
			printf "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';\n"
			# MySQL 9 deprecates FLUSH PRIVILEGES and needs none after ALTER USER and GRANT.
			printf 'FLUSH PRIVILEGES;\n'
		fi
	} > "$2"
}

# For sourced *.sh scripts, as in the official images: SQL on stdin (or -e ...) as root.
docker_process_sql() {
	"$client" --defaults-extra-file="$client_cnf" "$@"
}

# Like the official images: the server without networking, each file through the client on the
# socket, then a clean shutdown; a marker in the data directory keeps it to the first start.
run_initdb() {
	client_cnf=$rundir/oomlab-client.cnf
	printf '[client]\nuser = root\npassword = "%s"\nsocket = %s/mysqld.sock\n' "$(cnf_quoted "$password")" "$rundir" > "$client_cnf"
	chmod 600 "$client_cnf"
	echo >&2 "docker-entrypoint.sh: running /docker-entrypoint-initdb.d with a temporary server"
	"$@" --skip-networking &
	temporary=$!
	tries=0
	until docker_process_sql -e 'SELECT 1' >/dev/null 2>&1; do
		tries=$((tries + 1))
		if ! kill -0 "$temporary" 2>/dev/null || [ "$tries" -ge 120 ]; then
			echo >&2 'docker-entrypoint.sh: the temporary server for /docker-entrypoint-initdb.d did not start'
			exit 1
		fi
		sleep 0.5
	done
	for file in /docker-entrypoint-initdb.d/*; do
		case "$file" in
		*.sh)
			echo >&2 "docker-entrypoint.sh: running $file"
			if [ -x "$file" ]; then "$file"; else . "$file"; fi
			;;
		*.sql)
			echo >&2 "docker-entrypoint.sh: running $file"
			docker_process_sql < "$file"
			;;
		*.sql.gz)
			echo >&2 "docker-entrypoint.sh: running $file"
			gunzip -c "$file" | docker_process_sql
			;;
		*.sql.xz)
			echo >&2 "docker-entrypoint.sh: running $file"
			xz -dc "$file" | docker_process_sql
			;;
		*) echo >&2 "docker-entrypoint.sh: ignoring $file" ;;
		esac
	done
	kill "$temporary"
	wait "$temporary" || true
	rm -f "$client_cnf"
}

if [ "$1" = mysqld ] || [ "$1" = mariadbd ]; then
	shift
	# Exec the real binary so the kernel log names it as it names the incident's server
	# (comm mariadbd for MariaDB 10.5 and later, mysqld for MySQL).
	set -- "$server" "$@"
	mkdir -p "$rundir"
	chown mysql:mysql "$rundir"
	if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ]; then
		echo >&2 'error: database is uninitialized and password option is not specified'
		echo >&2 '  You need to specify one of MYSQL_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD'
		exit 1
	fi
	if [ ! -d "$datadir/mysql" ]; then
		/usr/local/lib/oomlab/seed.sh "$datadir"
	fi
	password="${MYSQL_ROOT_PASSWORD:-$MARIADB_ROOT_PASSWORD}"
	init=$rundir/oomlab-init.sql
	write_init_file "$password" "$init"
	chown mysql:mysql "$init"
	chmod 600 "$init"
	# MySQL and mysql2 over plain TCP: root authenticates with caching_sha2_password (MySQL 9 has no
	# mysql_native_password). Its first login after this start's ALTER USER is a full authentication,
	# which over a connection without TLS mysql2 does by asking the server for its RSA public key
	# (public_key.pem, written by --initialize-insecure at build time) and sending the password
	# RSA-OAEP encrypted; later logins hit the server's cache. So the image needs only the key pair,
	# and clients need neither TLS nor a client-side key file.
	set -- "$@" --user=mysql --init-file="$init"
	if [ ! -e "$initdb_done" ]; then
		if [ -n "$(ls -A /docker-entrypoint-initdb.d 2>/dev/null)" ]; then run_initdb "$@"; fi
		touch "$initdb_done"
		chown mysql:mysql "$initdb_done"
	fi
fi

exec "$@"
