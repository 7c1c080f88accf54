#!/usr/bin/env bash
# Debian 13's haproxy 3.0 unpacked under build/haproxy3, beside the system's haproxy, so the
# tests can check configurations with the versions around Ubuntu 24.04's 2.8. A private apt
# configuration (its own sources, lists and caches) fetches it: the system's packages and apt
# state are never touched. `build/haproxy3/haproxy` runs it with Debian 13's own loader and
# libraries. Does nothing when that wrapper already runs a 3.0.
set -euo pipefail

cd "$(dirname "$0")/.."
out="$PWD/build/haproxy3"
wrapper="$out/haproxy"
suite=trixie
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# The Debian archive and its security archive as the system's apt already reaches them.
system_uris=$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z+]+://[^[:space:]]+' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
	grep -oE '[a-z+]+://[^[:space:]]+' || true)
mirror=$(grep -v -- '-security' <<<"$system_uris" | head -n 1 || true)
security_mirror=$(grep -- '-security' <<<"$system_uris" | head -n 1 || true)

# Output is captured whole: a reader that stops early (head, grep -q) would kill haproxy -v
# with SIGPIPE, which pipefail turns into a failure.
if [ -x "$wrapper" ] && [[ $("$wrapper" -v 2>/dev/null || true) == "HAProxy version 3.0."* ]]; then
	exit 0
fi
for tool in apt-get apt-cache dpkg dpkg-deb gpgv; do
	command -v "$tool" >/dev/null || { echo "haproxy3: $tool is needed" >&2; exit 1; }
done
if [ -z "$mirror" ] || [ -z "$security_mirror" ]; then
	echo "haproxy3: no Debian archive and security archive found in the system's apt sources" >&2
	exit 1
fi
# Debian 12's debian-archive-keyring already carries Debian 13's signing keys.
if [ ! -r "$keyring" ]; then
	echo "haproxy3: $keyring is missing (install debian-archive-keyring)" >&2
	exit 1
fi

started=$SECONDS
arch=$(dpkg --print-architecture)
apt_dir="$out/apt"
debs="$out/debs"
rm -rf "$apt_dir" "$debs" "$out/root.new" "$wrapper" "$wrapper.new"
mkdir -p "$apt_dir"/etc/{apt.conf.d,sources.list.d,preferences.d,trusted.gpg.d} \
	"$apt_dir"/state/lists/partial "$apt_dir"/cache/archives/partial "$apt_dir"/log "$debs"
: >"$apt_dir/state/status" # nothing installed: dependencies are resolved against Debian 13 alone

{
	echo "deb [signed-by=$keyring] $mirror $suite main"
	echo "deb [signed-by=$keyring] $mirror $suite-updates main"
	echo "deb [signed-by=$keyring] $security_mirror $suite-security main"
} >"$apt_dir/etc/sources.list"

# APT_CONFIG is read first: pointing the parts and main files elsewhere keeps every setting,
# pin and source of the system's /etc/apt out.
cat >"$apt_dir/apt.conf" <<EOF
Dir::Etc "$apt_dir/etc";
Dir::Etc::main "/dev/null";
Dir::Etc::parts "apt.conf.d";
Dir::State "$apt_dir/state";
Dir::State::status "$apt_dir/state/status";
Dir::Cache "$apt_dir/cache";
Dir::Log "$apt_dir/log";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
APT::Install-Recommends "false";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::Retries "3";
EOF
export APT_CONFIG="$apt_dir/apt.conf"

echo "haproxy3: reading Debian 13 ($suite) package lists"
apt-get update -qq
# apt has checked each index against the keyring; say whose signature it was.
for release in "$apt_dir"/state/lists/*_InRelease; do
	gpgv --keyring "$keyring" "$release" 2>&1 | grep -o 'Good signature from .*' | sed "s|^|${release##*/}: |" ||
		{ echo "haproxy3: bad signature on $release" >&2; exit 1; }
done

# haproxy and the shared libraries it needs: its dependencies, followed only through library
# packages (adduser, lsb-base and init-system-helpers serve the package's scripts) and OpenSSL's
# providers, which libssl loads itself.
packages=(haproxy)
declare -A seen=([haproxy]=1)
for ((i = 0; i < ${#packages[@]}; i++)); do
	# The first of each group of alternatives; <virtual> names are never libraries here.
	while read -r dep; do
		if [ -n "${seen[$dep]:-}" ]; then continue; fi
		seen[$dep]=1
		section=$(apt-cache show --no-all-versions "$dep" | sed -n 's/^Section: //p' | head -n1)
		if [ "$section" = libs ] || [[ $dep == openssl-provider-* ]]; then packages+=("$dep"); fi
	done < <(apt-cache depends --important "${packages[$i]}" |
		awk '/^ *\|?(Pre)?Depends:/ { if (!skip && $2 !~ /^</) print $2; skip = ($1 ~ /^\|/) }')
done

echo "haproxy3: downloading ${packages[*]}"
# As root apt downloads as _apt, which must be able to write there.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$debs"; fi
(cd "$debs" && apt-get download -qq "${packages[@]}")

root="$out/root.new"
mkdir -p "$root"
for deb in "$debs"/*.deb; do
	dpkg-deb -x "$deb" "$root"
	dpkg-deb --show --showformat='${Package} ${Version}\n' "$deb"
done >"$out/packages.txt"

loader=$(find "$root/usr/lib" -maxdepth 2 -name 'ld-linux*.so.*' -print -quit)
if [ -z "$loader" ]; then
	echo "haproxy3: no dynamic loader in the unpacked libc6" >&2
	exit 1
fi
libdir=${loader%/*}
libdirs=$(find "$root" -regextype posix-extended -regex '.*/lib[^/]*\.so(\.[0-9]+)*' -printf '%h\n' |
	sort -u | paste -sd:)
# Every library haproxy links resolves inside the unpacked tree, none from the host.
resolved=$("$loader" --library-path "$libdirs" --list "$root/usr/sbin/haproxy")
if grep '=>' <<<"$resolved" | grep -qv "=> $root/"; then
	echo "haproxy3: libraries missing from $root:" >&2
	echo "$resolved" >&2
	exit 1
fi

# Debian 13's loader runs the binary, so its glibc and libraries serve it rather than the host's;
# OpenSSL looks for its modules in its own tree; --argv0 brings a master-worker re-exec back here.
cat >"$wrapper.new" <<EOF
#!/bin/sh
# Debian 13's haproxy 3.0 with its own loader and libraries (made by scripts/haproxy3.sh).
self=\$(readlink -f "\$0")
root=\${self%/*}/root
export OPENSSL_MODULES="\$root/${libdir#"$root"/}/ossl-modules"
export OPENSSL_ENGINES="\$root/${libdir#"$root"/}/engines-3"
exec "\$root/${loader#"$root"/}" --library-path "${libdirs//$root/\$root}" --argv0 "\$self" \\
	"\$root/usr/sbin/haproxy" "\$@"
EOF
chmod +x "$wrapper.new"
rm -rf "$out/root" "$apt_dir" "$debs"
mv "$root" "$out/root"
# The wrapper appears last, once it runs: its presence is what says the tree is complete.
version=$("$wrapper.new" -v)
echo "${version%%$'\n'*}"
mv "$wrapper.new" "$wrapper"
echo "haproxy3: build/haproxy3 ready ($(du -sh "$out" | cut -f1), $((SECONDS - started))s)"
