// js_write.mjs — writes Arrow IPC files with apache-arrow (JavaScript) covering every type it can
// write, for quiver to read: NAME.stream and NAME.arrow_file per case (+ LZ4/ZSTD-compressed
// variants of a few), all in OUTDIR. Prints the file names it wrote.
// usage: node js_write.mjs OUTDIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  vectorFromArray, makeData, makeVector, Vector, RecordBatch, Table, Schema, Field, Struct,
  RecordBatchStreamWriter, RecordBatchFileWriter, CompressionType,
  Null, Bool, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Float16, Float32, Float64,
  Utf8, LargeUtf8, Binary, LargeBinary, FixedSizeBinary, Decimal, DateDay, DateMillisecond,
  TimeSecond, TimeMillisecond, TimeMicrosecond, TimeNanosecond, Timestamp, TimeUnit,
  Duration, IntervalYearMonth, IntervalDayTime, IntervalMonthDayNano, List, LargeList,
  FixedSizeList, Map_, Dictionary, SparseUnion, DenseUnion, Utf8View, BinaryView,
} from 'apache-arrow';
import { registerCodecs } from './codecs.mjs';

registerCodecs();

const enc = new TextEncoder();
const f = (name, type, nullable = true) => new Field(name, type, nullable);

// A batch from named columns (all the same length).
function batch(fields, vectors) {
  const schema = new Schema(fields);
  const data = makeData({
    type: new Struct(fields), length: vectors[0].length, nullCount: 0,
    children: vectors.map((v) => v.data[0]),
  });
  return new RecordBatch(schema, data);
}

function col(type, values) {
  const v = vectorFromArray(values, type);
  if (v.data.length !== 1) throw new Error('js_write: expected one chunk');
  return v;
}

// Raw fixed-width data with a validity mask (null where valid[i] is false).
function raw(type, values, valid) {
  const length = valid.length;
  const nullBitmap = new Uint8Array(((length + 63) >> 6) << 3);
  let nulls = 0;
  valid.forEach((ok, i) => { if (ok) nullBitmap[i >> 3] |= 1 << (i & 7); else nulls++; });
  return makeVector(makeData({ type, length, nullCount: nulls, nullBitmap, data: values }));
}

const cases = {};

cases.primitive = () => {
  const batches = [];
  for (let b = 0; b < 3; b++) {
    const n = [5, 0, 7][b];
    const ints = Array.from({ length: n }, (_, i) => (i % 3 === 1 ? null : (i - 2) * (b + 1) * 37));
    const fields = [
      f('i8', new Int8()), f('i16', new Int16()), f('i32', new Int32()), f('i64', new Int64()),
      f('u8', new Uint8()), f('u16', new Uint16()), f('u32', new Uint32()), f('u64', new Uint64()),
      f('f32', new Float32()), f('f64', new Float64()), f('bool', new Bool()), f('nonnull', new Int32(), false),
    ];
    const vecs = [
      col(new Int8(), ints.map((x) => (x === null ? null : x % 128))),
      col(new Int16(), ints.map((x) => (x === null ? null : x * 50))),
      col(new Int32(), ints.map((x) => (x === null ? null : x * 1000003))),
      col(new Int64(), ints.map((x) => (x === null ? null : BigInt(x) * 1234567890123n))),
      col(new Uint8(), ints.map((x) => (x === null ? null : Math.abs(x) % 256))),
      col(new Uint16(), ints.map((x) => (x === null ? null : Math.abs(x) * 101 % 65536))),
      col(new Uint32(), ints.map((x) => (x === null ? null : 4294967295 - Math.abs(x)))),
      col(new Uint64(), ints.map((x) => (x === null ? null : 18446744073709551615n - BigInt(Math.abs(x))))),
      col(new Float32(), ints.map((x) => (x === null ? null : x / 3))),
      col(new Float64(), ints.map((x, i) => (x === null ? null : i === 0 ? -0 : i === 5 ? NaN : i === 6 ? -Infinity : x / 7 + 1e-300 * i))),
      col(new Bool(), ints.map((x, i) => (x === null ? null : i % 2 === 0))),
      col(new Int32(), Array.from({ length: n }, (_, i) => i * b)),
    ];
    batches.push(batch(fields, vecs));
  }
  return batches;
};

cases.float16 = () => {
  const bits = Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00, 0x3555);
  return [batch([f('h', new Float16())], [raw(new Float16(), bits, [1, 1, 1, 1, 1, 1, 1, 0].map(Boolean))])];
};

cases.strings = () => {
  const vals = ['', 'a', null, 'héllo wörld', 'tab\there "quoted" \\ back', '日本語', null, 'x'.repeat(40)];
  const bins = vals.map((s) => (s === null ? null : enc.encode(s + '\u0000\u00ff')));
  return [0, 1].map((b) => batch(
    [f('utf8', new Utf8()), f('large_utf8', new LargeUtf8()), f('binary', new Binary()),
      f('large_binary', new LargeBinary()), f('fsb', new FixedSizeBinary(3))],
    [col(new Utf8(), vals.slice(b)), col(new LargeUtf8(), vals.slice(b)), col(new Binary(), bins.slice(b)),
      col(new LargeBinary(), bins.slice(b)),
      col(new FixedSizeBinary(3), vals.slice(b).map((s, i) => (s === null ? null : Uint8Array.of(i, 255 - i, 7))))],
  ));
};

cases.views = () => {
  const vals = ['short', null, 'a string that is longer than twelve bytes', '', 'twelve bytes', 'thirteen byte'];
  return [batch([f('sv', new Utf8View()), f('bv', new BinaryView())],
    [col(new Utf8View(), vals), col(new BinaryView(), vals.map((s) => (s === null ? null : enc.encode(s))))])];
};

cases.temporal = () => {
  const ok = [true, false, true, true, true];
  const i32 = Int32Array.of(0, 1, -1, 19000, 2147483647);
  const i64 = BigInt64Array.of(0n, 1n, -1n, 1700000000123n, -9223372036854775808n);
  const types = [
    ['date32', new DateDay(), i32], ['date64', new DateMillisecond(), i64],
    ['time32s', new TimeSecond(), Int32Array.of(0, 1, 86399, 3600, 59)],
    ['time32ms', new TimeMillisecond(), Int32Array.of(0, 1, 86399999, 3600, 59)],
    ['time64us', new TimeMicrosecond(), BigInt64Array.of(0n, 1n, 86399999999n, 3600n, 59n)],
    ['time64ns', new TimeNanosecond(), BigInt64Array.of(0n, 1n, 86399999999999n, 3600n, 59n)],
    ['ts_s', new Timestamp(TimeUnit.SECOND), i64],
    ['ts_ms_utc', new Timestamp(TimeUnit.MILLISECOND, 'UTC'), i64],
    ['ts_us_tz', new Timestamp(TimeUnit.MICROSECOND, 'America/New_York'), i64],
    ['ts_ns_off', new Timestamp(TimeUnit.NANOSECOND, '+05:30'), i64],
    ['dur_s', new Duration(TimeUnit.SECOND), i64], ['dur_ns', new Duration(TimeUnit.NANOSECOND), i64],
    ['iv_ym', new IntervalYearMonth(), Int32Array.of(0, 1, -13, 1200, 7)],
    ['iv_dt', new IntervalDayTime(), Int32Array.of(0, 0, 1, 2, -3, 86399999, 400, 5, 6, -7)],
    ['iv_mdn', new IntervalMonthDayNano(), Int32Array.of(1, 2, 3, 0, -1, -2, -3, -1, 12, 30, 1000000, 0, 0, 0, 0, 0, 5, 6, 7, 8)],
  ];
  return [batch(types.map(([n, t]) => f(n, t)), types.map(([, t, v]) => raw(t, v, ok)))];
};

cases.decimal = () => {
  const ok = [true, true, false, true];
  const d128 = Uint32Array.of(12345, 0, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0, 0,
    0x00000000, 0x10000000, 0x00000002, 0x00100000);
  const d256 = new Uint32Array(32);
  d256.set([1, 0, 0, 0, 0, 0, 0, 0x40000000], 0);
  d256.fill(0xffffffff, 8, 16); d256[8] = 0xfffffffe;
  d256.set([99999, 0, 0, 0, 0, 0, 0, 0], 24);
  return [batch([f('d128', new Decimal(2, 38, 128)), f('d256', new Decimal(5, 76, 256))],
    [raw(new Decimal(2, 38, 128), d128, ok), raw(new Decimal(5, 76, 256), d256, ok)])];
};

cases.nested = () => {
  const listT = new List(f('item', new Int32()));
  const llistT = new LargeList(f('item', new Utf8()));
  const fslT = new FixedSizeList(3, f('item', new Float64()));
  const structT = new Struct([f('a', new Int32()), f('b', new Utf8()), f('c', new List(f('item', new Bool())))]);
  const mapT = new Map_(f('entries', new Struct([f('key', new Utf8(), false), f('value', new Int64())]), false));
  const lsT = new List(f('item', new Struct([f('x', new Int16()), f('y', new Float32())])));
  return [0, 1].map((b) => batch(
    [f('list', listT), f('large_list', llistT), f('fsl', fslT), f('struct', structT), f('map', mapT), f('list_struct', lsT)],
    [
      col(listT, [[1, 2, 3], null, [], [null, 5 + b]]),
      col(llistT, [['a', 'bb'], [], null, ['ccc', null]]),
      col(fslT, [[1.5, 2.5, 3.5], null, [0, -1, null], [b, b, b]]),
      col(structT, [{ a: 1, b: 'x', c: [true] }, null, { a: null, b: 'yy', c: null }, { a: 4 + b, b: null, c: [false, null] }]),
      col(mapT, [new Map([['k1', 1n], ['k2', null]]), null, new Map(), new Map([['z', BigInt(b)]])]),
      col(lsT, [[{ x: 1, y: 0.5 }, null], null, [], [{ x: null, y: 2 + b }]]),
    ],
  ));
};

function dictColumn(indexType, dictVector, indices, valid) {
  const type = new Dictionary(dictVector.type, indexType, 0);
  const length = indices.length;
  const nullBitmap = new Uint8Array(((length + 63) >> 6) << 3);
  let nulls = 0;
  valid.forEach((ok, i) => { if (ok) nullBitmap[i >> 3] |= 1 << (i & 7); else nulls++; });
  return makeVector(makeData({ type, length, nullCount: nulls, nullBitmap, data: indices, dictionary: dictVector }));
}

// Batches 1-2 share a dictionary, batch 3 adds a delta, batch 4 replaces it (stream only).
function dictBatches(withReplacement) {
  const d0 = vectorFromArray(['apple', 'banana', null, 'cherry'], new Utf8());
  const d1 = d0.concat(vectorFromArray(['date', 'elderberry'], new Utf8()));
  const d2 = vectorFromArray(['zebra', 'yak'], new Utf8());
  const mk = (dict, idx, valid) => batch([f('fruit', new Dictionary(new Utf8(), new Int32(), 0))],
    [dictColumn(new Int32(), dict, Int32Array.from(idx), valid)]);
  const out = [
    mk(d0, [0, 1, 2, 3, 0], [1, 1, 1, 0, 1].map(Boolean)),
    mk(d0, [3, 3, 1], [1, 1, 1].map(Boolean)),
    mk(d1, [4, 5, 0, 1], [1, 1, 0, 1].map(Boolean)),
  ];
  if (withReplacement) out.push(mk(d2, [1, 0, 1], [1, 1, 1].map(Boolean)));
  return out;
}
cases.dictionary = () => dictBatches(false);

cases.unions = () => {
  const children = [f('i', new Int32()), f('s', new Utf8())];
  const sparseT = new SparseUnion([5, 9], children);
  const denseT = new DenseUnion([5, 9], children);
  const ids = Int8Array.of(5, 9, 5, 9, 5);
  const sparse = makeData({
    type: sparseT, length: 5, nullCount: 0, typeIds: ids,
    children: [col(new Int32(), [1, null, 3, null, null]).data[0], col(new Utf8(), [null, 'b', null, null, 'e']).data[0]],
  });
  sparse.children[1] = col(new Utf8(), ['-', 'b', '-', null, '-']).data[0];
  const dense = makeData({
    type: denseT, length: 5, nullCount: 0, typeIds: ids, valueOffsets: Int32Array.of(0, 0, 1, 1, 2),
    children: [col(new Int32(), [10, null, 30]).data[0], col(new Utf8(), ['bee', 'dee']).data[0]],
  });
  return [batch([f('sparse', sparseT), f('dense', denseT)], [makeVector(sparse), makeVector(dense)])];
};

cases.nulls = () => [0, 1].map((b) => batch([f('n', new Null()), f('x', new Int32())],
  [makeVector(makeData({ type: new Null(), length: 3 + b })), col(new Int32(), Array.from({ length: 3 + b }, () => null))]));

cases.empty = () => [batch([f('a', new Int64()), f('b', new Utf8())], [col(new Int64(), []), col(new Utf8(), [])])];

function write(Writer, batches, opts) {
  const w = new Writer(opts);
  for (const b of batches) w.write(b);
  w.finish();
  return w.toUint8Array(true);
}

const outDir = process.argv[2];
if (!outDir) {
  process.stderr.write('usage: node js_write.mjs OUTDIR\n');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const written = [];
const put = (name, bytes) => {
  writeFileSync(join(outDir, name), bytes);
  written.push(name);
};
for (const [name, make] of Object.entries(cases)) {
  put(`${name}.stream`, write(RecordBatchStreamWriter, make()));
  put(`${name}.arrow_file`, write(RecordBatchFileWriter, make()));
}
put('dictionary_replacement.stream', write(RecordBatchStreamWriter, dictBatches(true)));
for (const [tag, type] of [['lz4', CompressionType.LZ4_FRAME], ['zstd', CompressionType.ZSTD]]) {
  for (const name of ['primitive', 'strings', 'nested', 'dictionary']) {
    put(`${name}_${tag}.stream`, write(RecordBatchStreamWriter, cases[name](), { compressionType: type }));
    put(`${name}_${tag}.arrow_file`, write(RecordBatchFileWriter, cases[name](), { compressionType: type }));
  }
}
process.stdout.write(written.join('\n') + '\n');
