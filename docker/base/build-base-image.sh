#!/usr/bin/env bash
# Builds a Java 17 runtime image from this machine's JDK, for machines that cannot pull a public
# JRE image (no registry access). The result is FROM scratch: a jlink'ed JRE in /opt/java, the
# shared libraries it and ONNX Runtime load (copied from this machine, as `ldd` lists them), busybox
# for a shell, a non-root user `ferret` (uid/gid 10001) and a world-writable /tmp.
#
#   docker/base/build-base-image.sh [TAG]          (default tag: ferretstream/jre:17-local)
#
# Then build the service images on it: FERRET_BASE_IMAGE=ferretstream/jre:17-local (compose), or
# docker build --build-arg BASE_IMAGE=ferretstream/jre:17-local ...
# Needs: docker, a JDK 17 (JAVA_HOME or javac on PATH), /bin/busybox (Debian: busybox-static).
set -euo pipefail

tag="${1:-ferretstream/jre:17-local}"
java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
busybox="${BUSYBOX:-/bin/busybox}"
[ -x "$java_home/bin/jlink" ] || { echo "no jlink under $java_home (set JAVA_HOME to a JDK 17)" >&2; exit 1; }
[ -x "$busybox" ] || { echo "no static busybox at $busybox (Debian: apt-get install busybox-static)" >&2; exit 1; }

# What the services need: Spring Boot (naming, management, instrument, sql, xml), Kafka (security
# sasl/jgss, jdk.security.auth), ImageIO (desktop), the JDK HTTP server (inference metrics),
# the Vector API, JFR and crypto providers.
modules=java.base,java.compiler,java.datatransfer,java.desktop,java.instrument,java.logging,\
java.management,java.management.rmi,java.naming,java.net.http,java.prefs,java.rmi,java.scripting,\
java.security.jgss,java.security.sasl,java.sql,java.transaction.xa,java.xml,java.xml.crypto,\
jdk.crypto.cryptoki,jdk.crypto.ec,jdk.httpserver,jdk.incubator.vector,jdk.jfr,jdk.management,\
jdk.management.agent,jdk.naming.dns,jdk.net,jdk.security.auth,jdk.security.jgss,jdk.unsupported,\
jdk.zipfs

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/home/ferret"

"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress=2 --output "$root/opt/java" 2>/dev/null

# shared libraries: of the JRE's launcher and libraries, plus what ONNX Runtime's JNI library links
# (libstdc++, libgcc_s, libm, libdl, librt, libpthread)
{
  for f in "$root/opt/java/bin/java" $(find "$root/opt/java/lib" -name '*.so'); do
    ldd "$f" 2>/dev/null || true
  done
  for name in libstdc++.so.6 libgcc_s.so.1 libm.so.6 libdl.so.2 librt.so.1 libpthread.so.0 \
    libz.so.1; do
    # awk stops at the first match itself: no `head` that could SIGPIPE the pipe under pipefail
    ldconfig -p | awk -v n="$name" '!found && $1 == n && /x86-64|x86_64|amd64/ {print "x => " $NF; found = 1}'
  done
} | awk '/=> \// {print $3} /^[[:space:]]*\// {print $1}' | sort -u | while read -r lib; do
  [ -e "$lib" ] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
  # the loader and libc are also looked up through their canonical paths
  real="$(readlink -f "$lib")"
  if [ "$real" != "$lib" ]; then
    mkdir -p "$root$(dirname "$real")"
    cp -L "$lib" "$root$real"
  fi
done

cp "$busybox" "$root/bin/busybox"
chmod 1777 "$root/tmp"
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
ferret:x:10001:10001:ferret:/home/ferret:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
ferret:x:10001:
nogroup:x:65534:
GROUP
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"

cat > "$work/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN chown 10001:10001 /home/ferret
ENV JAVA_HOME=/opt/java \
    PATH=/opt/java/bin:/bin \
    LANG=C.UTF-8
LABEL org.opencontainers.image.title="ferretstream/jre" \
      org.opencontainers.image.description="jlink'ed Java 17 runtime with busybox, built locally"
DOCKERFILE

DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work" >/dev/null
version="$(docker run --rm "$tag" java -version 2>&1)"
printf '%s\n' "${version%%$'\n'*}" >&2
echo "$tag"
