#!/usr/bin/env bash
# make install / make uninstall (see the Makefile for the variables).
#   install:   the library and pkgIndex.tcl into $DESTDIR$LIBDIR, the man page
#              into $DESTDIR$MANDIR/mann; every file and folder it creates is
#              listed in $LIBDIR/install-manifest.txt (without DESTDIR).
#   uninstall: removes what the manifest lists, the manifest, then the
#              folders it created (when empty), and nothing else.
set -euo pipefail
: "${DESTDIR:=}" "${LIBDIR:?}" "${MANDIR:?}" "${PKGDIR:?}" "${LIBFILE:?}" "${TCLSH:=tclsh}" "${VERSION:?}"
manifest=$LIBDIR/install-manifest.txt

case ${1:-} in
install)
  created=()
  # mkdir_p DIR: creates DIR and the parents missing, recording each.
  mkdir_p() {
    local d=$1 missing=()
    while [ ! -d "$DESTDIR$d" ]; do missing=("$d" "${missing[@]}"); d=$(dirname "$d"); done
    for d in "${missing[@]}"; do mkdir "$DESTDIR$d"; created+=("dir $d"); done
  }
  # A manifest from an earlier install: keep the folders it created.
  old=()
  if [ -f "$DESTDIR$manifest" ]; then mapfile -t old < <(grep '^dir ' "$DESTDIR$manifest"); fi
  mkdir_p "$LIBDIR"
  mkdir_p "$MANDIR/mann"
  files=()
  install -m 755 "$PKGDIR/$LIBFILE" "$DESTDIR$LIBDIR/$LIBFILE"; files+=("file $LIBDIR/$LIBFILE")
  install -m 644 "$PKGDIR/pkgIndex.tcl" "$DESTDIR$LIBDIR/pkgIndex.tcl"; files+=("file $LIBDIR/pkgIndex.tcl")
  install -m 644 docs/websocket.n "$DESTDIR$MANDIR/mann/websocket.n"; files+=("file $MANDIR/mann/websocket.n")
  printf '%s\n' "${old[@]}" "${created[@]}" "${files[@]}" | grep -v '^$' > "$DESTDIR$manifest"
  echo "installed websocket $VERSION into $DESTDIR$LIBDIR, man page $DESTDIR$MANDIR/mann/websocket.n"
  [ -z "$DESTDIR" ] || exit 0
  # Does a plain tclsh now load this library?
  got=$(echo "if {[catch {package require websocket} e]} {puts \"error: \$e\"} elseif {[info procs ::websocket::send] ne {}} {
                puts \"websocket \$e from Tcl scripts ([package ifneeded websocket \$e])\"
              } else {puts \"websocket \$e from [lmap l [info loaded] {lindex \$l 0}]\"}" \
        | env -u TCLLIBPATH "$TCLSH" 2>&1 || true)
  if [ "$got" = "websocket $VERSION from $LIBDIR/$LIBFILE" ]; then
    echo "checked: package require websocket in $TCLSH loads $LIBDIR/$LIBFILE"
  else
    cat >&2 <<MSG
WARNING: package require websocket in a plain $TCLSH does not load the library
just installed ($LIBDIR/$LIBFILE); it gives:
$(echo "$got" | sed 's/^/    /')
$(dirname "$LIBDIR") is probably not on that tclsh's auto_path:
    echo 'puts \$auto_path' | $TCLSH
Either install into one of those folders (make install INSTALL_LIBDIR=folder),
or add $(dirname "$LIBDIR") to TCLLIBPATH (or lappend ::auto_path in the script).
MSG
  fi
  ;;
uninstall)
  if [ ! -f "$DESTDIR$manifest" ]; then echo "nothing installed in $DESTDIR$LIBDIR (no manifest)"; exit 0; fi
  mapfile -t entries < "$DESTDIR$manifest"
  for e in "${entries[@]}"; do
    case $e in "file "*) rm -f "$DESTDIR${e#file }"; echo "removed $DESTDIR${e#file }";; esac
  done
  rm -f "$DESTDIR$manifest"
  for ((i=${#entries[@]}-1; i>=0; i--)); do
    e=${entries[i]}
    case $e in "dir "*) rmdir "$DESTDIR${e#dir }" 2>/dev/null && echo "removed $DESTDIR${e#dir }/" || true;; esac
  done
  ;;
*) echo "usage: install.sh install|uninstall" >&2; exit 2;;
esac
