#!/usr/bin/env bash
# Package test: builds the .deb with cpack from the built binaries, checks its control fields and
# contents, runs the CLI from an extracted copy, and (root + PEFT_TEST_DPKG_INSTALL=1) installs it.
#   tests/packaging/test_deb.sh BUILD_DIR      (env PEFT_STUDIO_GUI=ON|OFF, as configured)
set -euo pipefail

BUILD="$(cd "${1:?usage: test_deb.sh BUILD_DIR}" && pwd)"
GUI="${PEFT_STUDIO_GUI:-OFF}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fails=0
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# 1. cpack into a private folder, so parallel runs and old packages do not mix.
( cd "$BUILD" && cpack -G DEB -B "$TMP/pkg" >"$TMP/cpack.log" 2>&1 ) || { cat "$TMP/cpack.log" >&2; echo "FAIL: cpack" >&2; exit 1; }
DEB="$(ls "$TMP"/pkg/*.deb 2>/dev/null | head -n1)"
[ -n "$DEB" ] || { cat "$TMP/cpack.log" >&2; echo "FAIL: cpack wrote no .deb" >&2; exit 1; }
echo "package: $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"

# 2. Control fields.
dpkg-deb -I "$DEB" >"$TMP/info.txt"
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = "peft-studio" ] || bad "Package is '$(field Package)'"
[ -n "$(field Version)" ] || bad "no Version"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || bad "Architecture is '$(field Architecture)'"
DEPENDS="$(field Depends)"
echo "Depends: $DEPENDS"
# Package names mentioned in Depends (alternatives included, version constraints dropped).
tr ',|' '\n\n' <<<"$DEPENDS" | sed -e 's/(.*)//' -e 's/[[:space:]]//g' -e '/^$/d' | sort -u >"$TMP/deps.txt"
for p in $(cat "$TMP/deps.txt"); do
  apt-cache show "$p" >/dev/null 2>&1 || dpkg -s "$p" >/dev/null 2>&1 || bad "Depends names '$p', which no Debian archive or installed package knows"
done
grep -qx 'libopenblas0-pthread' "$TMP/deps.txt" || bad "Depends lacks libopenblas0-pthread (the fast BLAS)"

# 3. Contents.
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's#^\./#/#' >"$TMP/files.txt"
want=(/usr/bin/peft-studio-cli /usr/share/peft-studio/demo/run.json /usr/share/peft-studio/demo/dataset.jsonl
      /usr/share/peft-studio/demo/model/config.json /usr/share/peft-studio/demo/model/model.safetensors
      /usr/share/peft-studio/demo/model/tokenizer.json /usr/share/peft-studio/demo/model/tokenizer_config.json)
if [ "$GUI" = "ON" ]; then
  want+=(/usr/bin/peft-studio /usr/share/applications/peft-studio.desktop
         /usr/share/icons/hicolor/scalable/apps/peft-studio.svg)
  grep -qx 'qt6-qpa-plugins' "$TMP/deps.txt" || bad "Depends lacks qt6-qpa-plugins (the GUI's platform plugins)"
fi
for f in "${want[@]}"; do grep -qx "$f" "$TMP/files.txt" || bad "package lacks $f"; done

# 4. Every library the programs link comes from a package in Depends.
dpkg-deb -x "$DEB" "$TMP/root"
owner() {  # the package that ships a library path (usrmerge: try /lib and /usr/lib spellings)
  local real; real="$(readlink -f "$1")"
  for p in "$real" "${real#/usr}" "/usr$real" "$1"; do
    dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1 && return 0
  done
  return 1
}
for exe in "$TMP"/root/usr/bin/*; do
  for lib in $(readelf -d "$exe" | awk '/NEEDED/{gsub(/[][]/, "", $5); print $5}'); do
    # The dynamic loader is listed by ldd without "=>"; it ships with libc6 (always in Depends).
    case "$lib" in ld-linux*) continue;; esac
    path="$(ldd "$exe" | awk -v l="$lib" '$1 == l {print $3}')"
    [ -n "$path" ] && [ "$path" != "not" ] || { bad "$(basename "$exe") links $lib, which is not found"; continue; }
    pkg="$(owner "$path")" || { echo "note: $lib ($path) belongs to no Debian package; not checked"; continue; }
    # The package itself, or a virtual package it provides (libspdlog1.10 provides libspdlog1.10-fmt9,
    # which its shlibs file asks for), must be in Depends.
    names="$pkg $(dpkg-query -W -f='${Provides}' "$pkg" 2>/dev/null | tr ',' '\n' | sed -e 's/(.*)//' -e 's/[[:space:]]//g')"
    ok=0
    for n in $names; do grep -qx "$n" "$TMP/deps.txt" && ok=1; done
    [ "$ok" = 1 ] || bad "$(basename "$exe") links $lib from package $pkg, which Depends does not name"
  done
done

# 5. The extracted CLI starts and knows itself.
CLI="$TMP/root/usr/bin/peft-studio-cli"
"$CLI" --version >"$TMP/version.txt" 2>&1 || bad "extracted peft-studio-cli --version failed: $(cat "$TMP/version.txt")"
grep -q "0\.\|LibTorch\|libtorch" "$TMP/version.txt" || bad "--version printed: $(cat "$TMP/version.txt")"
"$CLI" --help >"$TMP/help.txt" 2>&1 || bad "extracted peft-studio-cli --help failed"
for c in train generate info; do grep -q "$c" "$TMP/help.txt" || bad "--help does not list '$c'"; done
"$CLI" info --model "$TMP/root/usr/share/peft-studio/demo/model" >"$TMP/info_model.txt" 2>&1 ||
  bad "peft-studio-cli info on the packaged demo model failed: $(tail -n3 "$TMP/info_model.txt")"

# 6. Optional: a real install (changes the system; root only, opt in).
if [ "${PEFT_TEST_DPKG_INSTALL:-0}" = "1" ]; then
  if [ "$(id -u)" != 0 ]; then
    bad "PEFT_TEST_DPKG_INSTALL=1 needs root"
  else
    dpkg -i "$DEB" || bad "dpkg -i failed (missing dependencies? apt-get install -f)"
    /usr/bin/peft-studio-cli --version || bad "installed /usr/bin/peft-studio-cli --version failed"
    /usr/bin/peft-studio-cli info --model /usr/share/peft-studio/demo/model || bad "installed CLI cannot read the demo model"
  fi
fi

if [ "$fails" -gt 0 ]; then echo "test_deb: $fails failure(s)" >&2; exit 1; fi
echo "test_deb: ok"
