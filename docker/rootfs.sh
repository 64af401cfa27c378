#!/bin/sh
# Assembles the files of the dex-spectro image under a directory, laid out as
# in Dex's image:
#
#   /usr/local/bin/dex-spectro   the binary; /usr/local/bin/dex links to it
#   /etc/dex/config.docker.yaml  configuration from environment variables
#   /srv/dex/web                 Dex's web assets (also embedded in the binary)
#   /etc/passwd, /etc/group      root, nobody, and dex (1001:1001)
#   /tmp                         for rendered config templates (mode 1777)
#
# The data directory /var/dex, owned by 1001:1001, is not in OUT_DIR: the
# image builder creates it (COPY --chown of an empty directory), as only a
# directory it creates gets the owner.
#
# docker/Dockerfile and docker/smoke.sh both use it, so that the image they
# build holds the same files.
#
# Usage: rootfs.sh BINARY DEX_WEB_DIR OUT_DIR
set -eu

if [ "$#" -ne 3 ]; then
  echo "usage: $0 BINARY DEX_WEB_DIR OUT_DIR" >&2
  exit 2
fi
bin=$1 web=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)

for f in "$bin" "$web/templates" "$web/static" "$web/themes" "$here/config.docker.yaml"; do
  [ -e "$f" ] || { echo "rootfs.sh: $f is missing" >&2; exit 1; }
done

mkdir -p "$out/usr/local/bin" "$out/etc/dex" "$out/srv/dex" "$out/tmp"
cp "$bin" "$out/usr/local/bin/dex-spectro"
chmod 0755 "$out/usr/local/bin/dex-spectro"
ln -sf dex-spectro "$out/usr/local/bin/dex"

cp "$here/config.docker.yaml" "$out/etc/dex/config.docker.yaml"
chmod 0644 "$out/etc/dex/config.docker.yaml"

rm -rf "$out/srv/dex/web"
cp -R "$web" "$out/srv/dex/web"
rm -f "$out/srv/dex/web/web.go"
chmod -R u+rwX,go+rX,go-w "$out/srv/dex/web"

chmod 1777 "$out/tmp"

cat > "$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
dex:x:1001:1001:dex:/var/dex:/sbin/nologin
PASSWD
cat > "$out/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
dex:x:1001:
GROUP
chmod 0644 "$out/etc/passwd" "$out/etc/group"
