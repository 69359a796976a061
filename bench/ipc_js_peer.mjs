// ipc_js_peer.mjs — the apache-arrow (JavaScript) side of `qv_bench ipc`: reads the headline
// IPC file ({int64, float64, uint32, bool} columns) the C benchmark wrote, and times
//   read:  loading the file into memory (JS has no mmap),
//   reach: opening it and reaching every record batch (zero-copy views),
//   sum:   summing every value of every column;
// best of REPEAT runs each. Prints one JSON line with the times (ms) and the sums, which the C
// side checks against its own. usage: node ipc_js_peer.mjs FILE [REPEAT]
import { readFileSync } from 'node:fs';

const arrowUrl = new URL('../tests/interop/node_modules/apache-arrow/Arrow.node.mjs', import.meta.url);
const { RecordBatchFileReader } = await import(arrowUrl);

const file = process.argv[2];
const repeat = Number(process.argv[3] || 3);
const now = () => Number(process.hrtime.bigint()) / 1e6;

function reachAll(bytes) {
  const reader = RecordBatchFileReader.from(bytes);
  reader.open();
  const batches = [];
  for (let i = 0; i < reader.numRecordBatches; i++) batches.push(reader.readRecordBatch(i));
  return batches;
}

// int64 summed exactly and fast: 32-bit halves as Numbers, folded into a BigInt per batch.
function sumBatches(batches) {
  let i64 = 0n, f64 = 0, u32 = 0n, trues = 0;
  for (const b of batches) {
    const [c0, c1, c2, c3] = b.data.children;
    const w = new Int32Array(c0.values.buffer, c0.values.byteOffset, c0.values.length * 2);
    let lo = 0, hi = 0;
    for (let k = 0; k < w.length; k += 2) {
      lo += w[k] >>> 0;
      hi += w[k + 1];
    }
    i64 += BigInt(lo) + (BigInt(hi) << 32n);
    const fv = c1.values;
    for (let k = 0; k < fv.length; k++) f64 += fv[k];
    const uv = c2.values;
    let us = 0;
    for (let k = 0; k < uv.length; k++) us += uv[k];
    u32 += BigInt(us);
    const bits = c3.values, n = c3.length;
    for (let k = 0; k < n; k++) trues += (bits[k >> 3] >> (k & 7)) & 1;
  }
  return { i64: BigInt.asIntN(64, i64), f64, u32, trues };
}

let best = { read: Infinity, reach: Infinity, sum: Infinity };
let sums = null;
let nBatches = 0;
for (let r = 0; r < repeat; r++) {
  let t = now();
  const bytes = readFileSync(file);
  best.read = Math.min(best.read, now() - t);
  t = now();
  const batches = reachAll(bytes);
  best.reach = Math.min(best.reach, now() - t);
  nBatches = batches.length;
  t = now();
  sums = sumBatches(batches);
  best.sum = Math.min(best.sum, now() - t);
}
process.stdout.write(JSON.stringify({
  read_ms: best.read, reach_ms: best.reach, sum_ms: best.sum, batches: nBatches,
  sum_i64: sums.i64.toString(), sum_f64: sums.f64, sum_u32: sums.u32.toString(), trues: sums.trues,
}) + '\n');
