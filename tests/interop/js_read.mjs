// js_read.mjs — reads an Arrow IPC file or stream with apache-arrow (JavaScript) and prints the
// canonical JSON dump (format in canon.mjs) of its schema and values to stdout.
// usage: node js_read.mjs FILE     (exit 1 with a message on stderr when the read fails)
//        node js_read.mjs --each OUTDIR FILE...   (OUTDIR/<name>.json, or <name>.err on failure)
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RecordBatchReader, Type, DateUnit, TimeUnit, IntervalUnit, UnionMode } from 'apache-arrow';
import { jsonString, formatFloat, hex, metadataJson } from './canon.mjs';
import { registerCodecs } from './codecs.mjs';

registerCodecs();

const UNIT = ['s', 'ms', 'us', 'ns'];

function intName(t) {
  return (t.isSigned ? 'int' : 'uint') + t.bitWidth;
}

export function typeName(t) {
  switch (t.typeId) {
    case Type.Null: return 'null';
    case Type.Bool: return 'bool';
    case Type.Int: return intName(t);
    case Type.Float: return ['float16', 'float32', 'float64'][t.precision];
    case Type.Utf8: return 'utf8';
    case Type.LargeUtf8: return 'large_utf8';
    case Type.Utf8View: return 'utf8_view';
    case Type.Binary: return 'binary';
    case Type.LargeBinary: return 'large_binary';
    case Type.BinaryView: return 'binary_view';
    case Type.FixedSizeBinary: return `fixed_size_binary[${t.byteWidth}]`;
    case Type.Decimal: return `decimal${t.bitWidth}(${t.precision},${t.scale})`;
    case Type.Date: return t.unit === DateUnit.DAY ? 'date32' : 'date64';
    case Type.Time: return `time${t.bitWidth}[${UNIT[t.unit]}]`;
    case Type.Timestamp:
      return t.timezone ? `timestamp[${UNIT[t.unit]},${t.timezone}]` : `timestamp[${UNIT[t.unit]}]`;
    case Type.Duration: return `duration[${UNIT[t.unit]}]`;
    case Type.Interval:
      return t.unit === IntervalUnit.YEAR_MONTH ? 'interval[year_month]'
        : t.unit === IntervalUnit.DAY_TIME ? 'interval[day_time]' : 'interval[month_day_nano]';
    case Type.List: return 'list';
    case Type.LargeList: return 'large_list';
    case Type.FixedSizeList: return `fixed_size_list[${t.listSize}]`;
    case Type.Struct: return 'struct';
    case Type.Map: return t.keysSorted ? 'map[sorted]' : 'map';
    case Type.Union:
      return (t.mode === UnionMode.Sparse ? 'sparse_union[' : 'dense_union[') + [...t.typeIds].join(',') + ']';
    default: throw new Error(`js_read: type ${t} is not in the canonical dump`);
  }
}

// nameAs: the name printed instead of f.name — map children get the canonical names
// entries/key/value (they are not significant, and implementations rename them).
export function fieldJson(f, nameAs) {
  let t = f.type;
  let dict = '';
  if (t.typeId === Type.Dictionary) {
    dict = `,"dictionary":{"index":${jsonString(intName(t.indices))},"ordered":${t.isOrdered ? 'true' : 'false'}}`;
    t = t.dictionary;
  }
  let s = `{"name":${jsonString(nameAs ?? f.name)},"type":${jsonString(typeName(t))},"nullable":${f.nullable ? 'true' : 'false'}${dict}`;
  if (t.children && t.children.length) {
    const as = (i) => (t.typeId === Type.Map ? 'entries' : nameAs === 'entries' ? (i === 0 ? 'key' : 'value') : undefined);
    s += ',"children":[' + t.children.map((c, i) => fieldJson(c, as(i))).join(',') + ']';
  }
  s += metadataJson(f.metadata);
  return s + '}';
}

function isValid(d, i) {
  if (d.type.typeId === Type.Null) return false;
  if (d.type.typeId === Type.Union) return true;
  const bm = d.nullBitmap;
  if (!bm || bm.length === 0) return true;
  const pos = d.offset + i;
  return (bm[pos >> 3] & (1 << (pos & 7))) !== 0;
}

function view(d) {
  return new DataView(d.values.buffer, d.values.byteOffset, d.values.byteLength);
}

function bigOf(d, i, words) {
  // little-endian two's complement integer of `words` 32-bit words at slot i
  const dv = view(d);
  let v = 0n;
  for (let w = words - 1; w >= 0; w--) v = (v << 32n) | BigInt(dv.getUint32((i * words + w) * 4, true));
  const bits = BigInt(words * 32);
  if (v >> (bits - 1n)) v -= 1n << bits;
  return v;
}

function half(bits) {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const dec = new TextDecoder('utf-8');

function bytesAt(d, i) {
  const t = d.type.typeId;
  if (t === Type.FixedSizeBinary) {
    const w = d.type.byteWidth;
    return d.values.subarray(i * w, (i + 1) * w);
  }
  if (t === Type.BinaryView || t === Type.Utf8View) {
    const dv = view(d);
    const len = dv.getInt32(i * 16, true);
    if (len <= 12) return d.values.subarray(i * 16 + 4, i * 16 + 4 + len);
    const buf = dv.getInt32(i * 16 + 8, true);
    const off = dv.getInt32(i * 16 + 12, true);
    return d.variadicBuffers[buf].subarray(off, off + len);
  }
  const o = d.valueOffsets;
  return d.values.subarray(Number(o[i]), Number(o[i + 1]));
}

// The dictionary of a dictionary-encoded Data is a Vector (possibly several chunks).
function dictValue(vec, k) {
  for (const chunk of vec.data) {
    if (k < chunk.length) return value(chunk, k);
    k -= chunk.length;
  }
  throw new Error(`js_read: dictionary index ${k} out of range`);
}

export function value(d, i) {
  if (d.dictionary !== undefined && d.dictionary !== null) {
    if (!isValid(d, i)) return 'null';
    return dictValue(d.dictionary, Number(d.values[i]));
  }
  if (!isValid(d, i)) return 'null';
  const t = d.type;
  switch (t.typeId) {
    case Type.Bool: {
      const pos = d.offset + i;
      return d.values[pos >> 3] & (1 << (pos & 7)) ? 'true' : 'false';
    }
    case Type.Int: case Type.Date: case Type.Time: case Type.Timestamp: case Type.Duration:
      return String(d.values[i]);
    case Type.Float:
      return formatFloat(t.precision === 0 ? half(d.values[i]) : d.values[i]);
    case Type.Decimal: return '"' + bigOf(d, i, t.bitWidth / 32).toString() + '"';
    case Type.Interval: {
      const dv = view(d);
      if (t.unit === IntervalUnit.YEAR_MONTH) return String(dv.getInt32(i * 4, true));
      if (t.unit === IntervalUnit.DAY_TIME) return `[${dv.getInt32(i * 8, true)},${dv.getInt32(i * 8 + 4, true)}]`;
      return `[${dv.getInt32(i * 16, true)},${dv.getInt32(i * 16 + 4, true)},${dv.getBigInt64(i * 16 + 8, true)}]`;
    }
    case Type.Utf8: case Type.LargeUtf8: case Type.Utf8View:
      return jsonString(dec.decode(bytesAt(d, i)));
    case Type.Binary: case Type.LargeBinary: case Type.BinaryView: case Type.FixedSizeBinary:
      return hex(bytesAt(d, i));
    case Type.List: case Type.LargeList: {
      const c = d.children[0];
      const a = Number(d.valueOffsets[i]), b = Number(d.valueOffsets[i + 1]);
      const out = [];
      for (let k = a; k < b; k++) out.push(value(c, k));
      return '[' + out.join(',') + ']';
    }
    case Type.FixedSizeList: {
      const c = d.children[0];
      const n = t.listSize;
      const out = [];
      for (let k = i * n; k < (i + 1) * n; k++) out.push(value(c, k));
      return '[' + out.join(',') + ']';
    }
    case Type.Struct: {
      const out = t.children.map((f, k) => jsonString(f.name) + ':' + value(d.children[k], i));
      return '{' + out.join(',') + '}';
    }
    case Type.Map: {
      const e = d.children[0];
      const a = Number(d.valueOffsets[i]), b = Number(d.valueOffsets[i + 1]);
      const out = [];
      for (let k = a; k < b; k++) out.push(`[${value(e.children[0], k)},${value(e.children[1], k)}]`);
      return '[' + out.join(',') + ']';
    }
    case Type.Union: {
      const code = d.typeIds[i];
      const child = d.children[t.typeIdToChildIndex[code]];
      const k = t.mode === UnionMode.Dense ? d.valueOffsets[i] : i;
      return `[${code},${value(child, k)}]`;
    }
    default: throw new Error(`js_read: no value reader for ${t}`);
  }
}

export function dump(bytes, out) {
  const reader = RecordBatchReader.from(bytes);
  reader.open({ autoDestroy: false });
  const lines = [];
  let b = 0;
  for (const batch of reader) {
    // apache-arrow yields a placeholder empty batch for an input that has none: not data
    if (batch.constructor.name === '_InternalEmptyPlaceholderRecordBatch') continue;
    lines.push(`{"batch":${b},"rows":${batch.numRows}}`);
    for (let c = 0; c < batch.data.children.length; c++) {
      const d = batch.data.children[c];
      const vals = [];
      for (let i = 0; i < d.length; i++) vals.push(value(d, i));
      lines.push(`{"batch":${b},"column":${c},"values":[${vals.join(',')}]}`);
    }
    b++;
  }
  const schema = reader.schema;
  if (!schema) throw new Error('no schema (empty input?)');
  out.write(`{"schema":{"fields":[${schema.fields.map((f) => fieldJson(f)).join(',')}]${metadataJson(schema.metadata)}}}\n`);
  for (const l of lines) out.write(l + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args[0] === '--each' && args.length >= 2) {
    // --each OUTDIR FILE...: OUTDIR/<name>.json per file, or OUTDIR/<name>.err with the error
    const outDir = args[1];
    for (const file of args.slice(2)) {
      const name = basename(file);
      const chunks = [];
      try {
        dump(readFileSync(file), { write: (s) => chunks.push(s) });
        writeFileSync(join(outDir, name + '.json'), chunks.join(''));
      } catch (e) {
        writeFileSync(join(outDir, name + '.err'), `${e && e.message ? e.message : e}\n`);
      }
    }
  } else if (args.length === 1) {
    try {
      dump(readFileSync(args[0]), process.stdout);
    } catch (e) {
      process.stderr.write(`js_read: ${args[0]}: ${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    }
  } else {
    process.stderr.write('usage: node js_read.mjs FILE | node js_read.mjs --each OUTDIR FILE...\n');
    process.exit(2);
  }
}
