#!/usr/bin/env bash
# cli.test.sh — the IPC subcommands of the quiver CLI: convert (stream <-> file, stdin/stdout,
# compression, row ranges), cat (text and canonical JSON), schema, info; usage errors exit 2,
# failures exit 1 with a message naming the problem, and a failed convert leaves no output.
# usage: bash tests/ipc/cli.test.sh /path/to/quiver   (QV_CORPORA: the shared test corpora)
set -uo pipefail
Q=${1:?usage: cli.test.sh /path/to/quiver}
SRC=${QV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CORPORA=${QV_CORPORA:-$SRC/../shared/corpora}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
pass=0

ok() { pass=$((pass + 1)); }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
# expect CODE NEEDLE -- command...: exit status CODE and NEEDLE in stdout+stderr
expect() {
  local code=$1 needle=$2
  shift 3
  local out
  out=$("$@" 2>&1)
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    bad "'$*' exited $rc, want $code; output: $(echo "$out" | head -5)"
  elif [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$out"; then
    bad "'$*' output lacks '$needle': $(echo "$out" | head -5)"
  else
    ok
  fi
}
same_json() { # A B: identical canonical dumps
  if cmp -s <("$Q" cat --format json "$1" 2>&1) <("$Q" cat --format json "$2" 2>&1); then ok; else
    bad "dumps differ: $1 vs $2"
    diff <("$Q" cat --format json "$1" 2>&1 | cut -c1-200) <("$Q" cat --format json "$2" 2>&1 | cut -c1-200) | head -6
  fi
}

# ---- usage and errors that need no data ---------------------------------------------------------
for c in convert cat schema info; do
  expect 0 "usage: quiver $c" -- "$Q" "$c" --help
  expect 0 "examples:" -- "$Q" "$c" -h
  expect 2 "see 'quiver $c --help'" -- "$Q" "$c"
  expect 2 "unknown option '--bogus'" -- "$Q" "$c" --bogus x
  if [ "$c" = convert ]; then
    expect 1 "$work/missing.arrow" -- "$Q" "$c" "$work/missing.arrow" "$work/o.arrow"
  else
    expect 1 "$work/missing.arrow" -- "$Q" "$c" "$work/missing.arrow"
    expect 2 "one input only ('b' is extra)" -- "$Q" "$c" a b
    expect 2 "--from needs stream or file" -- "$Q" "$c" --from tape a
  fi
done
expect 0 "convert" -- "$Q" --help
: >"$work/empty.arrow"
expect 1 "empty input" -- "$Q" cat "$work/empty.arrow"
printf 'this is not arrow data at all, just some text\n' >"$work/garbage.arrows"
expect 1 "quiver cat:" -- "$Q" cat "$work/garbage.arrows"
expect 1 "quiver info:" -- "$Q" info "$work/garbage.arrows"
expect 1 "quiver cat:" -- "$Q" cat --from file "$work/garbage.arrows"
expect 2 "--compression needs" -- "$Q" convert --compression brotli a.arrow b.arrow
expect 2 "--to needs" -- "$Q" convert --to parquet a.arrow b.arrow
expect 2 "--limit needs a number" -- "$Q" cat --limit -3 a.arrow
expect 2 "unknown --format" -- "$Q" cat --format yaml a.arrow
expect 2 "need IN and OUT" -- "$Q" convert a.arrow
expect 2 "too many arguments" -- "$Q" convert a b c

# ---- with data: golden files written by Arrow C++ ------------------------------------------------
G=$CORPORA/arrow-ipc-integration/cpp-21.0.0
if [ ! -d "$G" ]; then
  echo "SKIP: the data part of this test needs the corpora at $CORPORA (not found)"
  echo "$pass passed, $fails failed"
  [ "$fails" -eq 0 ]
  exit
fi
P=$G/generated_primitive.stream
D=$G/generated_dictionary.stream
N=$G/generated_nested.arrow_file

# convert stream -> file by extension; the file reads back to the same rows
expect 0 "" -- "$Q" convert "$P" "$work/p.arrow"
head -c 6 "$work/p.arrow" | grep -q ARROW1 && ok || bad "p.arrow lacks the file magic"
same_json "$P" "$work/p.arrow"
expect 0 "format:       IPC file" -- "$Q" info "$work/p.arrow"
# file -> stream on stdout (a stream is the default for '-')
"$Q" convert "$work/p.arrow" - >"$work/p.arrows" && ok || bad "convert to stdout"
head -c 4 "$work/p.arrows" | od -An -tx1 | grep -q "ff ff ff ff" && ok || bad "stdout is not a stream"
same_json "$P" "$work/p.arrows"
# stdin -> file, format forced
"$Q" convert --to file - "$work/from-stdin.out" <"$P" 2>/dev/null && ok || bad "convert from stdin"
same_json "$P" "$work/from-stdin.out"
expect 0 "rows:" -- "$Q" info "$work/from-stdin.out"
# cat reads stdin
cmp -s <("$Q" cat --format json - <"$work/p.arrow") <("$Q" cat --format json "$P") && ok || bad "cat -"
# streams through pipes, converted and printed batch by batch
cat "$P" | "$Q" convert - - --to stream | "$Q" cat --format json - >"$work/piped.json" && ok ||
  bad "cat | convert - - | cat - failed"
cmp -s "$work/piped.json" <("$Q" cat --format json "$P") && ok || bad "piped stream differs"
cat "$D" | "$Q" convert - - | "$Q" cat --format json - >"$work/piped-dict.json" && ok ||
  bad "dictionary stream through pipes failed"
cmp -s "$work/piped-dict.json" <("$Q" cat --format json "$D") && ok || bad "piped dictionary stream differs"
cat "$P" | "$Q" convert -q - "$work/piped.arrow" && ok || bad "pipe -> file"
same_json "$P" "$work/piped.arrow"
cat "$work/p.arrow" | "$Q" convert - - | "$Q" cat --format json - >"$work/piped2.json" && ok ||
  bad "file on stdin -> stream"
cmp -s "$work/piped2.json" <("$Q" cat --format json "$P") && ok || bad "file via stdin differs"
psize=$(stat -c %s "$P")
head -c $((psize / 2)) "$P" | "$Q" convert - - >/dev/null 2>"$work/trunc.err"
[ $? -eq 1 ] && grep -q "truncated" "$work/trunc.err" && ok || bad "truncated stdin: $(cat "$work/trunc.err")"
expect 1 "empty input" -- bash -c "\"$Q\" cat - </dev/null"
# incremental: every batch is printed while stdin is still open (all but the end-of-stream
# marker written); polling the output for up to 20 s, then the marker is sent
want_lines=$("$Q" cat --format json "$P" | wc -l)
mkfifo "$work/fifo"
"$Q" cat --format json - <"$work/fifo" >"$work/inc.json" 2>&1 &
cat_pid=$!
exec 3>"$work/fifo"
head -c $((psize - 8)) "$P" >&3
for _ in $(seq 200); do
  [ "$(wc -l <"$work/inc.json")" -ge "$want_lines" ] && break
  sleep 0.1
done
got_lines=$(wc -l <"$work/inc.json")
tail -c 8 "$P" >&3
exec 3>&-
wait "$cat_pid" && ok || bad "cat - on a fifo failed: $(head -3 "$work/inc.json")"
[ "$got_lines" -eq "$want_lines" ] && ok ||
  bad "cat - printed $got_lines of $want_lines lines before its input ended (not incremental)"
# unknown output extension without --to
expect 2 "cannot tell the output format" -- "$Q" convert "$P" "$work/p.data"
# same file in and out is refused (it would truncate the mapped input)
cp "$work/p.arrow" "$work/self.arrow"
expect 2 "same file" -- "$Q" convert "$work/self.arrow" "$work/self.arrow"
same_json "$P" "$work/self.arrow"

# compression
for c in zstd lz4; do
  expect 0 "" -- "$Q" convert --compression "$c" "$N" "$work/n-$c.arrow"
  same_json "$N" "$work/n-$c.arrow"
  want=$c
  [ "$c" = lz4 ] && want=lz4_frame
  expect 0 "compression:  $want" -- "$Q" info "$work/n-$c.arrow"
  expect 0 "" -- "$Q" convert --compression none "$work/n-$c.arrow" "$work/n-$c-plain.arrows"
  expect 0 "compression:  none" -- "$Q" info "$work/n-$c-plain.arrows"
done

# row ranges: convert --offset/--limit equals cat --offset/--limit
expect 0 "" -- "$Q" convert --offset 3 --limit 20 "$P" "$work/p-range.arrow"
cmp -s <("$Q" cat --format json "$work/p-range.arrow") \
  <("$Q" cat --format json --offset 3 --limit 20 "$P") && ok || bad "range convert != range cat"
rows=$("$Q" info "$work/p-range.arrow" | awk '/^rows:/ {print $2}')
[ "$rows" = 20 ] && ok || bad "range convert kept $rows rows, want 20"

# dictionaries
expect 0 "dictionary batches" -- "$Q" info "$D"
expect 0 "dictionary id" -- "$Q" schema "$D"
expect 0 "" -- "$Q" convert "$D" "$work/d.arrow"
same_json "$D" "$work/d.arrow"

# cat text / schema output
expect 0 "bool_nullable" -- "$Q" cat --limit 3 "$P"
expect 0 "3 rows" -- "$Q" cat --limit 3 "$P"
expect 0 "int32_nullable: int32" -- "$Q" schema "$P"
expect 0 '{"schema":{"fields":[' -- "$Q" schema --json "$P"
lines=$("$Q" cat --format json --limit 0 "$P" | wc -l)
[ "$lines" = 1 ] && ok || bad "cat --limit 0 --format json printed $lines lines, want 1 (schema only)"

# truncated inputs fail with exit 1 (never a crash), and a failed convert leaves no output
size=$(stat -c %s "$work/p.arrow")
head -c $((size / 2)) "$work/p.arrow" >"$work/trunc.arrow"
expect 1 "quiver convert:" -- "$Q" convert "$work/trunc.arrow" "$work/t-out.arrows"
[ ! -e "$work/t-out.arrows" ] && ok || bad "failed convert left $work/t-out.arrows behind"
head -c $((size / 2)) "$work/p.arrows" >"$work/trunc.arrows"
expect 1 "quiver cat:" -- "$Q" cat "$work/trunc.arrows"
expect 1 "cannot create" -- "$Q" convert "$P" "$work/no/such/dir/x.arrow"

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
