#!/usr/bin/env bash
# js.test.sh — interop with apache-arrow (JavaScript), an independent Arrow implementation:
#  (b) quiver reads every file js_write.mjs writes (all types apache-arrow writes, several
#      batches, dictionary deltas and replacement, LZ4 and ZSTD bodies) and its canonical dump
#      (`quiver cat --format json`) must equal the one js_read.mjs prints for the same file;
#      the same for the golden files of other producers that apache-arrow can read;
#  (a) quiver writes (`quiver convert`) those inputs as stream, file, LZ4-compressed, and
#      sliced (--offset/--limit), and apache-arrow must read them back to the same dump.
# usage: bash tests/interop/js.test.sh /path/to/quiver   (QV_SOURCE_DIR = the source tree)
# Fails loudly when node or the pinned apache-arrow (npm ci in tests/interop) is missing.
set -euo pipefail
QUIVER=${1:?usage: js.test.sh /path/to/quiver}
SRC=${QV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
IDIR=$SRC/tests/interop
CORPORA=${QV_CORPORA:-$SRC/../shared/corpora}

die() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || die "node (Node.js) is not installed; it runs the apache-arrow peer"
[ -f "$IDIR/node_modules/apache-arrow/package.json" ] ||
  die "apache-arrow is not installed in $IDIR/node_modules: run (cd tests/interop && npm ci) — scripts/test.sh does this"
echo "peer: apache-arrow $(node -p "require('$IDIR/node_modules/apache-arrow/package.json').version") on node $(node --version)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/js" "$work/jsdump" "$work/q" "$work/out" "$work/outdump" "$work/gold"
failures=0
checks=0
skipped=()

# compare NAME EXPECTED GOT
compare() {
  if cmp -s "$2" "$3"; then
    checks=$((checks + 1))
  else
    failures=$((failures + 1))
    echo "MISMATCH: $1"
    diff <(cut -c1-400 "$2") <(cut -c1-400 "$3") | head -8 || true
  fi
}

qdump() { # FILE OUT [cat options...]: quiver's canonical dump; a failure is a test failure
  local f=$1 out=$2
  shift 2
  if ! "$QUIVER" cat --format json "$@" "$f" >"$out" 2>"$out.stderr"; then
    failures=$((failures + 1))
    echo "QUIVER FAILED to read $f: $(cat "$out.stderr")"
    return 1
  fi
}

# ---- (b) quiver reads what apache-arrow wrote -------------------------------------------------
node "$IDIR/js_write.mjs" "$work/js" >/dev/null
node "$IDIR/js_read.mjs" --each "$work/jsdump" "$work"/js/*
peer_bugs=()
for f in "$work"/js/*; do
  n=$(basename "$f")
  case "$n" in
  *_lz4.*)
    # apache-arrow (21.x) writes the COMPRESSED length where the IPC format wants the
    # uncompressed length in front of each LZ4 buffer; quiver must refuse that, not misread.
    if ! "$QUIVER" cat --format json "$f" >"$work/q/$n.json" 2>"$work/q/$n.err"; then
      if grep -q "decompresses to more than the declared" "$work/q/$n.err"; then
        peer_bugs+=("$n: quiver refuses it: $(head -c 160 "$work/q/$n.err")")
        checks=$((checks + 1))
      else
        failures=$((failures + 1))
        echo "QUIVER FAILED to read $f: $(cat "$work/q/$n.err")"
      fi
      continue
    fi
    ;;
  *) qdump "$f" "$work/q/$n.json" || continue ;;
  esac
  if [ -f "$work/jsdump/$n.json" ]; then
    compare "quiver reads JS $n" "$work/jsdump/$n.json" "$work/q/$n.json"
  else
    # apache-arrow has no ZSTD decoder: compare with the dump of the uncompressed twin
    grep -q "codec not found" "$work/jsdump/$n.err" ||
      { failures=$((failures + 1)); echo "JS could not read its own $n: $(cat "$work/jsdump/$n.err")"; }
    twin=${n/_zstd/}
    compare "quiver reads JS $n (vs uncompressed twin)" "$work/jsdump/$twin.json" "$work/q/$n.json"
  fi
done
echo "(b) quiver reads apache-arrow's files: $checks identical dumps"

# golden files of other producers, where apache-arrow can read them (it cannot read big-endian
# data, ZSTD bodies, list views or run-end encoding)
golden=()
if [ -d "$CORPORA/arrow-ipc-integration" ]; then
  for d in "$CORPORA"/arrow-ipc-integration/*/; do
    p=$(basename "$d")
    [ "$p" = 1.0.0-bigendian ] && continue
    for f in "$d"*.stream "$d"*.arrow_file; do
      [ -f "$f" ] || continue
      ln -s "$f" "$work/gold/$p--$(basename "$f")"
    done
  done
  node "$IDIR/js_read.mjs" --each "$work/jsdump" "$work"/gold/*
  before=$checks
  for f in "$work"/gold/*; do
    n=$(basename "$f")
    if [ -f "$work/jsdump/$n.err" ]; then
      skipped+=("$n (apache-arrow: $(head -c 80 "$work/jsdump/$n.err"))")
      continue
    fi
    qdump "$f" "$work/q/$n.json" || continue
    compare "quiver and apache-arrow read golden $n" "$work/jsdump/$n.json" "$work/q/$n.json"
    golden+=("$f")
  done
  echo "(b) golden files read identically by quiver and apache-arrow: $((checks - before))"
else
  echo "SKIP: golden corpora not found at $CORPORA (the JS-written files were still checked)"
fi

# ---- (a) apache-arrow reads what quiver wrote -------------------------------------------------
sources=()
for f in "$work"/js/*; do
  case "$f" in *_lz4.* | *_zstd.*) continue ;; esac
  sources+=("$f")
done
sources+=("${golden[@]}")
for f in "${sources[@]}"; do
  n=$(basename "$f")
  base=$n
  conv() { # OUTNAME convert-options...
    local out=$1
    shift
    if ! "$QUIVER" convert -q "$@" "$f" "$work/out/$out" 2>"$work/out/$out.stderr"; then
      failures=$((failures + 1))
      echo "QUIVER FAILED to write $out from $n: $(cat "$work/out/$out.stderr")"
    fi
  }
  conv "$base.q.arrows" --to stream
  if [ "$n" = dictionary_replacement.stream ]; then
    : # a replaced dictionary cannot go into the file format (checked in tests/ipc/cli.test.sh)
  else
    conv "$base.q.arrow" --to file
    conv "$base.q-lz4.arrow" --to file --compression lz4
    conv "$base.q-slice.arrow" --to file --offset 1 --limit 5
    qdump "$f" "$work/q/$n.slice.json" --offset 1 --limit 5 || true
  fi
  conv "$base.q-lz4.arrows" --to stream --compression lz4
done
node "$IDIR/js_read.mjs" --each "$work/outdump" "$work"/out/*.arrow "$work"/out/*.arrows
before=$checks
for f in "${sources[@]}"; do
  n=$(basename "$f")
  base=$n
  for v in q.arrows q.arrow q-lz4.arrow q-lz4.arrows q-slice.arrow; do
    o="$base.$v"
    [ -f "$work/out/$o" ] || continue
    if [ -f "$work/outdump/$o.err" ]; then
      failures=$((failures + 1))
      echo "apache-arrow cannot read quiver's $o (from $n): $(cat "$work/outdump/$o.err")"
      continue
    fi
    want="$work/q/$n.json"
    [ "$v" = q-slice.arrow ] && want="$work/q/$n.slice.json"
    compare "apache-arrow reads quiver's $o" "$want" "$work/outdump/$o.json"
  done
done
echo "(a) apache-arrow reads quiver's files: $((checks - before)) identical dumps"

# dictionaries: quiver's writer keeps deltas as deltas and replacements as replacements (seen
# by apache-arrow above), and refuses a replacement in the file format, leaving no output.
dict_info() { "$QUIVER" info "$1" | sed -n 's/^dictionaries: *//p' | sed 's/ *\[.*//'; }
for pair in "dictionary.stream:2 dictionary batches (1 deltas)" \
  "dictionary_replacement.stream:3 dictionary batches (1 deltas)"; do
  n=${pair%%:*} want=${pair#*:}
  got=$(dict_info "$work/out/$n.q.arrows")
  if [ "$got" = "$want" ]; then checks=$((checks + 1)); else
    failures=$((failures + 1))
    echo "quiver's $n.q.arrows: '$got', want '$want'"
  fi
done
if "$QUIVER" convert -q --to file "$work/js/dictionary_replacement.stream" "$work/repl.arrow" 2>"$work/repl.err"; then
  failures=$((failures + 1))
  echo "converting a stream with a dictionary replacement to the file format must fail"
elif ! grep -q "does not allow dictionary replacement" "$work/repl.err" || [ -e "$work/repl.arrow" ]; then
  failures=$((failures + 1))
  echo "replacement -> file: wrong message or output left behind: $(cat "$work/repl.err")"
else
  checks=$((checks + 1))
fi

# ZSTD: quiver writes it, apache-arrow cannot decode it (no codec in Node 20) — the peer must
# fail cleanly, not misread.
"$QUIVER" convert -q --compression zstd "$work/js/primitive.stream" "$work/out/zstd.arrows"
node "$IDIR/js_read.mjs" --each "$work/outdump" "$work/out/zstd.arrows"
grep -q "codec not found" "$work/outdump/zstd.arrows.err" ||
  { failures=$((failures + 1)); echo "expected apache-arrow to refuse ZSTD bodies"; }

if [ ${#peer_bugs[@]} -gt 0 ]; then
  echo "apache-arrow LZ4 bodies with a wrong uncompressed-length prefix (peer bug), refused:"
  printf '  %s\n' "${peer_bugs[@]}"
fi
if [ ${#skipped[@]} -gt 0 ]; then
  echo "not comparable (apache-arrow cannot read these golden files):"
  printf '  %s\n' "${skipped[@]}"
fi
echo "$checks identical dumps, $failures failures"
[ "$failures" -eq 0 ] || die "$failures interop failures"
echo "PASS"
