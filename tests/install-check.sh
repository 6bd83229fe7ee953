#!/usr/bin/env bash
# make install / make uninstall, for Tcl 8.6 (Debian's tclsh) and Tcl 9
# (../shared/tools/tcl9.sh), with tcllib's websocket 1.6 installed where
# people have it.  Each run happens in a throwaway mount namespace whose
# /usr/local and /usr/share/tcltk are overlays on the real folders with
# scratch upper layers: tcllib is placed at the real paths (a bind mount of
# the reference tcllib), `make install` writes to the real paths, a plain
# tclsh with its real auto_path loads the package, and when the namespace
# ends nothing of it is left on the machine.  Checked:
#   - before install, tclsh loads tcllib's websocket (the case is real);
#   - after install, ours, with tcllib in Debian's /usr/share/tcltk, beside
#     ours in /usr/local/lib/tcltk, under /usr/local/lib (tcllib built from
#     source, found through TCLLIBPATH) and in a TCLLIBPATH folder, whether
#     websocket is the first package required or every pkgIndex.tcl was
#     sourced before (another package required first);
#   - make install warns when the folder is not on tclsh's auto_path;
#   - `man websocket` finds the installed page;
#   - make uninstall leaves the layers as they were before make install.
set -u
cd "$(dirname "$0")/.."
root=$PWD
TCL9=${TCL9:-$HOME/.cache/tcl9}

if [ "${1:-}" = --inside ]; then
  # In the namespace: $2 = tclsh, $3 = install target suffix ("" or 9),
  # $4 = scratch folder.
  tclsh=$2; v=$3; scratch=$4
  set -e
  for d in /usr/local /usr/share/tcltk; do
    n=$(echo "$d" | tr / _)
    mkdir -p "$scratch/up$n" "$scratch/work$n"
    mount -t overlay overlay -o "lowerdir=$d,upperdir=$scratch/up$n,workdir=$scratch/work$n" "$d"
  done
  set +e
  ref=$(bash ../shared/tools/reference-tcllib.sh)
  pass=0; fail=0
  check() { if eval "$2"; then echo "PASS $v: $1"; pass=$((pass+1)); else echo "FAIL $v: $1"; fail=$((fail+1)); fi; }
  # place DIR: tcllib appears at DIR (and nowhere else).
  placed=""
  place() {
    if [ -n "$placed" ]; then umount "$placed"; rmdir "$placed"; fi
    mkdir -p "$1"; mount --bind "$ref" "$1"; placed=$1
  }
  # loads TCLLIBPATH PRELUDE: what `package require websocket` loads, in a
  # plain tclsh, after the script PRELUDE.
  # Prints "tcllib" when websocket::send is a Tcl procedure, else the files
  # of the binary packages loaded with it.
  loads() {
    echo "$2; package require websocket
          if {[info procs ::websocket::send] ne {}} {puts tcllib} else {puts [lmap l [info loaded] {lindex \$l 0}]}" \
      | TCLLIBPATH=$1 "$tclsh" 2>&1 | tail -n 1
  }
  ours=/usr/local/lib/tcltk/$([ "$v" = 9 ] && echo tcl9)websocket1.6/libtclwebsocket.so
  # Every path under both folders (tcllib's mount point apart), type, mode.
  layers() { find /usr/local /usr/share/tcltk -path "$placed" -prune -o -printf '%p %y %m\n' | sort; }

  place /usr/share/tcltk/tcllib2.0
  before=$(layers)
  check "before make install, tclsh loads tcllib's websocket" '[[ "$(loads "" "")" == tcllib ]]'
  out=$(make --no-print-directory install$v PREFIX=/usr/local 2>&1)
  check "make install checks that tclsh loads it" 'echo "$out" | grep -q "^checked: package require websocket" || { echo "$out"; false; }'
  preludes=("" "catch {package require no-such-package}" "package require http" "package require logger")
  for p in "${preludes[@]}"; do
    check "tcllib in /usr/share/tcltk, prelude {$p}: ours" '[[ "$(loads "" "$p")" == *"$ours"* ]]'
  done
  place /usr/local/lib/tcltk/tcllib2.0
  for p in "" "catch {package require no-such-package}"; do
    check "tcllib beside ours in /usr/local/lib/tcltk, prelude {$p}: ours" '[[ "$(loads "" "$p")" == *"$ours"* ]]'
  done
  place /usr/local/lib/tcllib2.0
  for p in "" "package require logger"; do
    check "tcllib under /usr/local/lib, TCLLIBPATH=/usr/local/lib, prelude {$p}: ours" '[[ "$(loads /usr/local/lib "$p")" == *"$ours"* ]]'
  done
  place "$scratch/tcllibpath/tcllib2.0"
  for p in "" "catch {package require no-such-package}"; do
    check "tcllib in a TCLLIBPATH folder, prelude {$p}: ours" '[[ "$(loads $scratch/tcllibpath "$p")" == *"$ours"* ]]'
  done
  check "TCLWEBSOCKET_USE_TCLLIB=1 leaves websocket to tcllib" '[[ "$(export TCLWEBSOCKET_USE_TCLLIB=1; loads $scratch/tcllibpath "")" == tcllib ]]'
  check "the installed library answers (websocket::sec-websocket-accept)" \
    '[ "$(echo "package require websocket; puts [websocket::sec-websocket-accept dGhlIHNhbXBsZSBub25jZQ==]" | env -u TCLLIBPATH "$tclsh")" = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ]'
  # (man -a: a machine with Debian's tcllib also has its websocket.3tcl)
  check "man websocket finds the installed page" 'man -aw websocket 2>/dev/null | xargs -r realpath | grep -qx /usr/local/share/man/mann/websocket.n'
  place /usr/share/tcltk/tcllib2.0
  out=$(make --no-print-directory uninstall$v PREFIX=/usr/local 2>&1)
  check "make uninstall leaves /usr/local and /usr/share/tcltk as before" '[ "$(layers)" = "$before" ] || { echo "$out"; diff <(echo "$before") <(layers); false; }'
  check "after make uninstall, tclsh loads tcllib's websocket again" '[[ "$(loads "" "")" == tcllib ]]'
  out=$(make --no-print-directory install$v PREFIX=/usr/local INSTALL_LIBDIR=/usr/local/elsewhere 2>&1)
  check "make install into a folder off auto_path says so" 'echo "$out" | grep -q "^WARNING: package require websocket" || { echo "$out"; false; }'
  make --no-print-directory uninstall$v PREFIX=/usr/local INSTALL_LIBDIR=/usr/local/elsewhere >/dev/null 2>&1
  check "and uninstalls" '[ "$(layers)" = "$before" ] || { diff <(echo "$before") <(layers); false; }'
  umount "$placed"
  echo "inside: $pass passed, $fail failed"
  exit 0
fi

pass=0; fail=0
check() { if eval "$2"; then echo "PASS $1"; pass=$((pass+1)); else echo "FAIL $1"; fail=$((fail+1)); fi; }

# The man page: the committed files are what make doc makes, and man renders it.
tmp=$(mktemp -d)
bash tools/mkdoc.sh "$tmp" >/dev/null 2>&1
check "docs/websocket.n and .html are up to date (make doc)" 'cmp -s "$tmp/websocket.n" docs/websocket.n && cmp -s "$tmp/websocket.html" docs/websocket.html'
check "man -l docs/websocket.n renders every command, without warnings" \
  '[ -z "$(MANWIDTH=80 man -l docs/websocket.n 2>&1 >/dev/null)" ] && [ "$(MANWIDTH=80 man -l docs/websocket.n 2>/dev/null | grep -cE "^ +::websocket::(open|send|server|live|test|upgrade|takeover|conninfo|find|configure|loglevel|close|sec-websocket-accept|validate) ")" -ge 28 ]'
rm -rf "$tmp"

# DESTDIR installs: the files, and uninstall empties the tree again.
for v in "" 9; do
  dest=$(mktemp -d)
  make --no-print-directory install$v DESTDIR="$dest" PREFIX=/usr/local >/dev/null 2>&1
  d=$dest/usr/local/lib/tcltk/$([ "$v" = 9 ] && echo tcl9)websocket1.6
  check "install$v DESTDIR: library, pkgIndex.tcl, man page" \
    '[ -f "$d/libtclwebsocket.so" ] && [ -f "$d/pkgIndex.tcl" ] && [ -f "$dest/usr/local/share/man/mann/websocket.n" ]'
  make --no-print-directory uninstall$v DESTDIR="$dest" PREFIX=/usr/local >/dev/null 2>&1
  check "uninstall$v DESTDIR: the tree is empty again" '[ -z "$(ls -A "$dest")" ]'
  rm -rf "$dest"
done

# Real paths, in a throwaway mount namespace.
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
  echo "FAIL install over tcllib: needs root and unshare (a throwaway mount namespace)"; fail=$((fail+1))
else
  bash ../shared/tools/tcl9.sh >/dev/null
  # The unpacked Tcl 9 finds its bundled modules (http) only through
  # TCL9_0_TM_PATH (see tests/README.md); a Tcl 9 installed by dpkg needs none.
  export TCL9_0_TM_PATH=$TCL9/usr/lib/tcl9.0/tcl9
  for spec in "tclsh:" "$TCL9/tclsh9.0:9"; do
    scratch=$(mktemp -d)
    out=$(unshare -m --propagation private bash "$0" --inside "${spec%:*}" "${spec##*:}" "$scratch" 2>&1)
    echo "$out" | grep -v '^inside: '
    p=$(echo "$out" | grep -c '^PASS'); f=$(echo "$out" | grep -c '^FAIL')
    echo "$out" | grep -q '^inside: ' || f=$((f+1))
    pass=$((pass+p)); fail=$((fail+f))
    rm -rf "$scratch"
  done
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
