#!/usr/bin/env bash
# cli.test.sh — exercises `quiver nd` end to end: create, define, put (.npy and --values), get
# (text and .npy), ls, info, attr, stats, rm, layers, compact, verify, time travel, errors.
# usage: bash tests/ndfile/cli.test.sh /path/to/quiver
set -u
Q=$(readlink -f "${1:?usage: cli.test.sh QUIVER}")
W=$(mktemp -d /tmp/qv-nd-cli-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# run a command; it must succeed and its stdout must contain every given pattern
ok() {
  local cmd=$1; shift
  local out
  if ! out=$(eval "$cmd" 2>&1); then fail "$cmd exited non-zero: $out"; return; fi
  for p in "$@"; do
    grep -qF -- "$p" <<<"$out" || fail "$cmd: output lacks '$p':
$out"
  done
}
# run a command; it must fail with exit code $2 and its stderr must contain $3
bad() {
  local cmd=$1 code=$2 pat=$3 out rc
  out=$(eval "$cmd" 2>&1); rc=$?
  [ "$rc" = "$code" ] || fail "$cmd: exit $rc, want $code: $out"
  grep -qF -- "$pat" <<<"$out" || fail "$cmd: message lacks '$pat': $out"
}

ok "$Q nd --help" "quiver nd create data.nd" "--chunks 256,256 --codec zstd"
ok "$Q --help" "nd"
ok "$Q nd create data.nd" "created data.nd"
bad "$Q nd create data.nd" 1 "already exists"
bad "$Q nd frobnicate data.nd" 2 "unknown subcommand"
bad "$Q nd ls missing.nd" 1 "no ndfile at"

HAVE_NUMPY=0
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then HAVE_NUMPY=1; fi

if [ $HAVE_NUMPY = 1 ]; then
  /usr/bin/python3 - <<'PY'
import numpy as np
a = (np.arange(300 * 200, dtype='<f4').reshape(300, 200) / 4).astype('<f4')
np.save('t.npy', a)
np.save('i.npy', np.arange(24, dtype='<i8').reshape(2, 3, 4))
np.save('patch.npy', np.full((3, 3), -7, dtype='<f4'))
np.save('fort.npy', np.asfortranarray(np.ones((3, 4), dtype='<f4')))
np.save('be.npy', np.ones(3, dtype='>f8'))
PY
  ok "$Q nd put data.nd temperature t.npy --chunks 64,64 --codec zstd --dims y,x"
  ok "$Q nd put data.nd cube i.npy --codec lz4"
  ok "$Q nd ls data.nd" "temperature" "float32" "[300,200]" "[64,64]" "zstd" "cube" "int64" "lz4"
  ok "$Q nd info data.nd temperature" "dims:    y, x" "stored:  20 of 20 chunks"
  ok "$Q nd get data.nd temperature --start 0,0 --shape 10,10 -o part.npy"
  /usr/bin/python3 -c "
import numpy as np, sys
p = np.load('part.npy'); t = np.load('t.npy')
sys.exit(0 if p.shape == (10, 10) and (p == t[:10, :10]).all() else 1)" || fail "part.npy differs from t.npy[:10,:10]"
  ok "$Q nd get data.nd cube -o cube.npy"
  ok "$Q nd get data.nd temperature --threads 2 -o t2.npy"
  ok "$Q nd get data.nd temperature --threads 1 -o t1.npy"
  cmp -s t1.npy t2.npy || fail "--threads 1 and --threads 2 read different bytes"
  bad "$Q nd get data.nd temperature --threads 65" 2 "--threads: '65' is not a number from 0 to 64"
  # chunks of 40,000 bytes in segments of 4 KiB (10 per chunk), read back by numpy
  ok "$Q nd create seg.nd"
  ok "$Q nd put seg.nd t t.npy --chunks 100,100 --codec lz4 --segment 4096"
  ok "$Q nd put seg.nd u t.npy --chunks 100,100 --codec lz4 --segment off"
  ok "$Q nd get seg.nd t --threads 2 -o tseg.npy"
  ok "$Q nd verify seg.nd"
  ok "$Q nd info seg.nd t" "stored:  6 of 6 chunks" "; 6 in segments"
  ok "$Q nd info seg.nd u" "; 0 in segments"
  /usr/bin/python3 -c "
import numpy as np, sys
sys.exit(0 if (np.load('tseg.npy') == np.load('t.npy')).all() else 1)" || fail "segmented array differs from t.npy"
  bad "$Q nd put seg.nd v t.npy --segment 1000" 1 "segment_bytes 1000 is not a power of two"
  bad "$Q nd get seg.nd t --segment 4k" 2 "--segment: '4k' is not a number of bytes or 'off'"
  /usr/bin/python3 -c "
import numpy as np, sys
sys.exit(0 if (np.load('cube.npy') == np.arange(24).reshape(2,3,4)).all() else 1)" || fail "cube round trip"
  ok "$Q nd put data.nd temperature patch.npy --start 100,150"
  ok "$Q nd get data.nd temperature --start 99,150 --shape 2,2" "4987.5 4987.75" "-7 -7"
  ok "$Q nd stats data.nd temperature" "count:   60000" "min:     -7" "max:     14999.75"
  bad "$Q nd put data.nd f fort.npy" 1 "fortran_order"
  bad "$Q nd put data.nd b be.npy" 1 "big-endian"
  bad "$Q nd put data.nd temperature patch.npy" 1 "give --start"
  bad "$Q nd put data.nd temperature patch.npy --start 299,0" 1 "outside its extent 300"
else
  echo "numpy not available: .npy steps use quiver itself"
  ok "$Q nd define data.nd temperature --dtype float32 --shape 300,200 --chunks 64,64 --codec zstd --dims y,x"
  ok "$Q nd put data.nd temperature --values 1,2,3,4 --start 0,0 --shape 2,2"
  ok "$Q nd get data.nd temperature --start 0,0 --shape 2,2 -o part.npy"
  ok "$Q nd put data.nd copy part.npy --chunks 1,2"
  ok "$Q nd get data.nd copy" "1 2" "3 4"
fi

# literal values, strings, fill values, rank 0
ok "$Q nd define data.nd names --dtype string --shape 2,2 --chunks 1,2 --fill none --codec lz4"
ok "$Q nd put data.nd names --values ab,c --start 1,0 --shape 1,2"
ok "$Q nd get data.nd names" "none none" "ab c"
ok "$Q nd define data.nd flag --dtype bool --shape scalar"
ok "$Q nd put data.nd flag --values true"
ok "$Q nd get data.nd flag" "true"
ok "$Q nd define data.nd small --dtype int16 --shape 3,3 --fill -1"
ok "$Q nd put data.nd small --values 5,6 --start 2,1 --shape 1,2"
ok "$Q nd get data.nd small" "-1 -1 -1" "-1 5 6"
bad "$Q nd put data.nd small --values 1,2,3" 1 "holds 9 values, 3 given"
bad "$Q nd put data.nd small --values 99999 --start 0,0 --shape 1,1" 1 "not a valid int16"
bad "$Q nd define data.nd small --dtype int16 --shape 3" 1 "already exists"
bad "$Q nd define data.nd z --dtype float99 --shape 3" 2 "unknown dtype"

# attributes
ok "$Q nd attr data.nd small units kelvin"
ok "$Q nd attr data.nd small levels 1 2 3"
ok "$Q nd attr data.nd small scale 0.25"
ok "$Q nd attr data.nd small valid true"
ok "$Q nd attr data.nd small" 'units = "kelvin"' "levels = [1, 2, 3]  (list of int)" "scale = 0.25" "valid = true"
ok "$Q nd attr data.nd small levels" "[1, 2, 3]"
ok "$Q nd attr data.nd small --delete scale"
bad "$Q nd attr data.nd small scale" 1 "no attribute 'scale'"
ok "$Q nd stats data.nd small" "count:   9" "fill:    7" "min:     -1" "max:     6"

# layers, time travel, compaction, verify
LAYERS=$($Q nd layers data.nd | tail -n +2 | wc -l)
[ "$LAYERS" -ge 10 ] || fail "expected at least 10 layers, got $LAYERS"
ok "$Q nd get data.nd small --as-of 14 --start 2,1 --shape 1,2" "5 6"
ok "$Q nd rm data.nd names"
bad "$Q nd get data.nd names" 1 "no array named 'names'"
ok "$Q nd verify data.nd" "every block checked"
ok "$Q nd compact data.nd" "compacted"
ok "$Q nd layers data.nd" "yes"
[ "$($Q nd layers data.nd | tail -n +2 | wc -l)" = 1 ] || fail "compaction left more than one layer"
[ "$(ls data.nd | wc -l)" = 1 ] || fail "compaction left old layer files: $(ls data.nd)"
ok "$Q nd get data.nd small" "-1 5 6"
bad "$Q nd get data.nd small --as-of 3" 1 "no layer 3"
ok "$Q nd verify data.nd" "ok: 1 layers"

# corruption is reported, naming the layer, array and chunk
F=$(ls data.nd/layer-*.qnd)
START=16 # the first block starts after the header, or after its padding when aligned (§3)
[ $(( $(od -An -tu1 -j12 -N1 "$F") & 1 )) = 1 ] && START=4096
printf '\xff' | dd of="$F" bs=1 seek=$((START + 4)) conv=notrunc 2>/dev/null
bad "$Q nd verify data.nd" 1 "checksum mismatch"

# the ndfile step of the demo passes (other steps are checked by their owners' tests)
DEMO=$("$Q" demo 2>&1 | sed -n '/^== ndfile:/,/^== /p')
grep -qF "a second writer gets QV_E_CONFLICT" <<<"$DEMO" || fail "demo: ndfile step missing: $DEMO"
grep -qF "[FAILED]" <<<"$DEMO" && fail "demo: ndfile step failed: $DEMO"

if [ $fails -ne 0 ]; then echo "$fails checks failed"; exit 1; fi
echo "cli.test.sh: all checks passed"
