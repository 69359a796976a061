// canon.mjs — the canonical JSON dump of Arrow data shared by js_read.mjs and `quiver cat
// --format json`; both sides must produce byte-identical text for the same data.
//
// Format (one JSON value per line):
//   {"schema":{"fields":[FIELD...]}}                 (+ ,"metadata":{...} when present)
//   {"batch":B,"rows":N}
//   {"batch":B,"column":C,"values":[VALUE...]}      one line per column
// FIELD  = {"name":S,"type":T,"nullable":true|false[,"dictionary":{"index":T,"ordered":bool}]
//           [,"children":[FIELD...]][,"metadata":{k:v sorted by key}]}
// T      = null bool int8..int64 uint8..uint64 float16 float32 float64 utf8 large_utf8
//          utf8_view binary large_binary binary_view fixed_size_binary[W] decimalBW(P,S)
//          date32 date64 time32[s|ms] time64[us|ns] timestamp[U] timestamp[U,TZ] duration[U]
//          interval[year_month|day_time|month_day_nano] list large_list list_view
//          large_list_view fixed_size_list[N] struct map map[sorted]
//          sparse_union[c0,c1..] dense_union[c0,c1..] run_end_encoded
//          (for a dictionary field T is the value type)
// VALUE  = null | true | false | integer digits | float (ECMAScript Number::toString; "NaN",
//          "Infinity", "-Infinity", "-0" as strings) | utf8 as a JSON string (escapes: \" \\
//          and \u00xx for bytes < 0x20 and 0x7f) | binary as a lowercase hex string | decimal
//          as a string of the unscaled integer | interval day_time [d,ms] / month_day_nano
//          [m,d,ns] | list [..] | struct {"name":v,...} | map [[k,v],...] | union [code,v] |
//          dictionary: the referenced value.
// Floats: float16/float32 values are widened to float64 and then formatted.

export function jsonString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c < 0x20 || c === 0x7f) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

export function formatFloat(x) {
  if (Number.isNaN(x)) return '"NaN"';
  if (x === Infinity) return '"Infinity"';
  if (x === -Infinity) return '"-Infinity"';
  if (x === 0 && Object.is(x, -0)) return '"-0"';
  return String(x);
}

export function hex(bytes) {
  let s = '"';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s + '"';
}

export function metadataJson(md) {
  if (!md || md.size === 0) return '';
  const keys = [...md.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return ',"metadata":{' + keys.map((k) => jsonString(k) + ':' + jsonString(md.get(k))).join(',') + '}';
}
